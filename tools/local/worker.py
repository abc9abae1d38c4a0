"""One local Lambda execution environment: a process of its own that imports one function's
handler (its init phase) and then serves invocations, one at a time, over a pipe, as a
``sam local`` container does. Module and class state (Powertools keeps the current event on
its router class) therefore never leaks between environments.

Messages (pickled tuples) from the pool (tools/local/lambdas.py):

- ``("invoke", event)`` -> ``("ok", result)`` or ``("error", type name, message, traceback)``;
- ``("control", op, args)`` -> the same; ``op`` one of :data:`CONTROLS`, for the local stack
  and its tests: ``set_now`` (a fixed UTC instant for ``gamification.clock.now``, or None for
  the real clock), ``reset_runtime`` (this environment's variables become the given ones,
  then :func:`gamification.runtime.reset`), ``call`` (``"module:function"``, args, kwargs:
  run a helper inside the environment, e.g. a fault injector; returns its picklable result).

On start it answers ``("ready", pid, seconds the init phase took)``. EOF on the pipe (the
pool went away) ends it.
"""

from __future__ import annotations

import faulthandler
import importlib
import os
import signal
import sys
import time
import traceback
from datetime import datetime
from typing import Any

# Third-party libraries every environment imports anyway, loaded once by the fork server
# (lambdas.py) so that a new environment starts fast. They hold no per-request state; the
# project's own modules (the layer, the handler) are imported anew in each environment, under
# its own variables, as in a fresh Lambda environment.
import aws_lambda_powertools.event_handler  # noqa: F401
import aws_lambda_powertools.logging  # noqa: F401
import aws_lambda_powertools.metrics  # noqa: F401
import boto3  # noqa: F401
import botocore.session  # noqa: F401
import pydantic  # noqa: F401



def _warm_botocore() -> None:
    """Load DynamoDB's service model into boto3's default session once (the fork server
    runs this), so that each environment's first client takes milliseconds, not half a
    second. Explicit dummy credentials and region: nothing is resolved or cached but the
    model files."""
    session = boto3._get_default_session()
    session.client("dynamodb", region_name="us-east-1", aws_access_key_id="warm", aws_secret_access_key="warm")
    session.client("dynamodbstreams", region_name="us-east-1", aws_access_key_id="warm", aws_secret_access_key="warm")


_warm_botocore()

CONTROLS = ("set_now", "reset_runtime", "call", "ping")


def apply_control(op: str, args: tuple[Any, ...]) -> Any:
    """Carry out control message ``op`` in this process (an environment, or the test
    process itself for in-process environments)."""
    if op == "ping":
        return os.getpid()
    if op == "set_now":
        from gamification import clock

        instant: datetime | None = args[0]
        if not hasattr(clock, "_real_now"):
            clock._real_now = clock.now  # type: ignore[attr-defined]
        clock.now = clock._real_now if instant is None else (lambda: instant)  # type: ignore[attr-defined]
        return None
    if op == "reset_runtime":
        from gamification import runtime

        env = args[0] if args else None
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        runtime.reset()
        return None
    if op == "call":
        path, call_args, call_kwargs = args
        module, _, name = path.partition(":")
        return getattr(importlib.import_module(module), name)(*call_args, **call_kwargs)
    raise ValueError(f"unknown control {op!r}; one of {CONTROLS}")


def _answer(conn: Any, run: Any) -> None:
    try:
        result = run()
    except BaseException as exc:  # noqa: BLE001 - reported to the pool, as Lambda reports errors
        conn.send(("error", type(exc).__name__, str(exc), traceback.format_exc()))
    else:
        conn.send(("ok", result))


def serve(conn: Any, fn: Any, env: dict[str, str], sys_path: list[str], controls: list[tuple[str, tuple]]) -> None:
    """The environment's main loop (the target of its process)."""
    started = time.perf_counter()
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints where it is
    os.environ.clear()
    os.environ.update(env)
    sys.path[:] = sys_path
    from tools.local import lambdas

    try:
        for op, args in controls:
            apply_control(op, args)
        handler = lambdas.load_handler(fn)
    except BaseException as exc:  # noqa: BLE001 - an init error, as Lambda reports it
        conn.send(("error", type(exc).__name__, str(exc), traceback.format_exc()))
        return
    conn.send(("ready", os.getpid(), time.perf_counter() - started))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "invoke":
            event = message[1]
            _answer(conn, lambda: lambdas.invoke(fn, handler, event))
        elif message[0] == "control":
            _answer(conn, lambda: apply_control(message[1], message[2]))
        elif message[0] == "stop":
            return
