"""One Logger, Tracer and Metrics for every function (Powertools; settings from the
``POWERTOOLS_*`` variables in template.yaml ``Globals``).

Tracing follows Powertools' own rule: on in Lambda (``LAMBDA_TASK_ROOT`` set), off under
``sam local`` / Chalice, outside Lambda (tests, ``make run``, ``make bench``) and wherever
``POWERTOOLS_TRACE_DISABLED`` is true. Where it is off, :data:`tracer` is a stand-in whose
decorators return the function unchanged, so the X-Ray SDK is never imported: Powertools'
``Tracer`` imports it even when disabled, and outside Lambda the SDK's recorder builds a
botocore X-Ray client for its sampler at import (about 0.4 s, most of what ``make bench``
used to count as a handler's extra import time). In Lambda the recorder samples locally and
the SDK costs tens of milliseconds. Where tracing is on, the real ``Tracer`` patches
botocore only (every DynamoDB call is a subsegment), not every library the SDK knows.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

# Read routes publish no metric on purpose; the flush warning would be noise in every log.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def tracing_enabled() -> bool:
    """Whether Powertools would trace in this process (the same conditions as its ``Tracer``)."""
    if resolve_truthy_env_var_choice(env=os.getenv(constants.TRACER_DISABLED_ENV, "false")):
        return False
    in_lambda = bool(os.getenv(constants.LAMBDA_TASK_ROOT_ENV))
    emulated = bool(os.getenv(constants.SAM_LOCAL_ENV) or os.getenv(constants.CHALICE_LOCAL_ENV))
    return in_lambda and not emulated


class Untraced:
    """The part of Powertools' ``Tracer`` interface the functions use, doing nothing."""

    disabled = True

    @staticmethod
    def _passthrough(fn: Callable[..., Any] | None = None, **_: Any) -> Any:
        return fn if fn is not None else (lambda f: f)

    capture_lambda_handler = _passthrough
    capture_method = _passthrough

    def put_annotation(self, key: str, value: Any) -> None:
        """No-op (tracing is off)."""

    def put_metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        """No-op (tracing is off)."""


logger = Logger()
tracer: Tracer | Untraced = Tracer(patch_modules=("botocore",)) if tracing_enabled() else Untraced()
metrics = Metrics()
