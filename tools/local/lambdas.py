"""Load the functions of template.yaml in this process, the way the Lambda runtime would:
the common layer on ``sys.path`` (as ``/opt/python``), each ``CodeUri`` module under a name
of its own, a context object with the usual fields."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from tools.local import template

LAYER_PATH = template.ROOT / "layers" / "common" / "python"
Handler = Callable[[dict[str, Any], Any], Any]


def use_layer() -> None:
    """Make the common layer importable (it is ``/opt/python`` in Lambda)."""
    if str(LAYER_PATH) not in sys.path:
        sys.path.insert(0, str(LAYER_PATH))


@dataclass
class LambdaContext:
    """The attributes of the Lambda runtime's context object that handlers use."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: int
    aws_request_id: str = ""
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def __post_init__(self) -> None:
        self.aws_request_id = self.aws_request_id or str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def load_module(fn: template.Function, container: int = 0) -> ModuleType:
    """Import ``fn``'s handler module from its code directory, once per ``container``.

    Each container number gets a module instance of its own, as each Lambda execution
    environment has its own globals (a Powertools resolver keeps the current event there).
    """
    use_layer()
    module_name = fn.handler.rsplit(".", 1)[0]
    name = f"lambda_{fn.logical_id}_{module_name}_{container}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, fn.code_dir / f"{module_name}.py")
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {fn.code_dir}/{module_name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def load_handler(fn: template.Function, container: int = 0) -> Handler:
    """The handler callable of ``fn`` in execution environment ``container``."""
    return getattr(load_module(fn, container), fn.handler.rsplit(".", 1)[1])


def invoke(fn: template.Function, handler: Handler, event: dict[str, Any]) -> Any:
    """Call ``handler`` with ``event`` and a fresh context, as one Lambda invocation."""
    return handler(event, LambdaContext(fn.logical_id, fn.memory_mb, fn.timeout_s))


class Containers:
    """Execution environments of one function, as Lambda runs them: each handles one event
    at a time; a request that finds none idle starts another (a cold start)."""

    def __init__(self, fn: template.Function) -> None:
        self.fn = fn
        self._idle = [load_handler(fn, 0)]
        self._started = 1
        self._lock = threading.Lock()

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            if self._idle:
                handler = self._idle.pop()
            else:
                handler = load_handler(self.fn, self._started)
                self._started += 1
        try:
            return invoke(self.fn, handler, event)
        finally:
            with self._lock:
                self._idle.append(handler)
