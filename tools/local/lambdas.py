"""Run the functions of template.yaml the way the Lambda runtime would: the common layer on
``sys.path`` (as ``/opt/python``), each ``CodeUri`` module under a name of its own, a context
object with the usual fields; :class:`Containers` keeps each function's execution
environments in processes of their own (tools/local/worker.py)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
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


class FunctionError(RuntimeError):
    """The function raised (or its environment died); the message carries its traceback."""

    def __init__(self, function: str, error_type: str, message: str, trace: str = "") -> None:
        super().__init__(f"{function}: {error_type}: {message}\n{trace}".rstrip())
        self.error_type = error_type
        self.trace = trace


#: Environments per function at most (like a reserved concurrency); a request that finds all
#: busy waits for one. ``LOCAL_LAMBDA_CONCURRENCY`` overrides it.
MAX_ENVIRONMENTS = int(os.environ.get("LOCAL_LAMBDA_CONCURRENCY", "8"))
#: Imported once by the fork server, before it forks environments: a new environment then
#: starts in about 0.1-0.3 s instead of about 2 s (measured on a loaded 2-core machine). The
#: fork server starts with the first environment, after the stack has set the functions'
#: variables, so what these modules read at import (Powertools' logger, metrics and tracer
#: settings) is what each environment would read; settings, clients and the engine are built
#: lazily, in each environment, from its own variables.
PRELOAD = ["tools.local.worker", "gamification.api.http", "gamification.runtime"]
_context_lock = threading.Lock()
_context: Any = None


def _mp_context() -> Any:
    """The fork server that starts environments: one clean, single-threaded process with the
    heavy third-party imports done (tools/local/worker.py), forked per environment."""
    global _context
    with _context_lock:
        if _context is None:
            import multiprocessing

            use_layer()
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            _context = ctx
        return _context


class Environment:
    """One execution environment: a process of its own (tools/local/worker.py)."""

    def __init__(self, fn: template.Function, controls: list[tuple[str, tuple]]) -> None:
        from tools.local import worker

        self.fn = fn
        began = time.perf_counter()
        ctx = _mp_context()
        self.conn, child = ctx.Pipe()
        env = {**os.environ}
        for key, value in fn.environment.items():
            env.setdefault(key, value)
        self.process = ctx.Process(
            target=worker.serve, args=(child, fn, env, list(sys.path), controls),
            name=f"lambda-{fn.logical_id}", daemon=True,
        )  # fmt: skip
        self.process.start()
        child.close()
        answer = self._receive()
        if answer[0] != "ready":
            self.stop()
            raise FunctionError(fn.logical_id, *answer[1:])
        self.pid, self.init_s = answer[1], answer[2]
        self.start_s = time.perf_counter() - began

    def _receive(self) -> tuple[Any, ...]:
        try:
            return self.conn.recv()
        except (EOFError, OSError) as exc:
            self.process.join(timeout=1)
            code = self.process.exitcode
            self.stop()
            raise FunctionError(self.fn.logical_id, "EnvironmentExited", f"exit code {code}") from exc

    def request(self, *message: Any) -> Any:
        """Send one message and return the result; raises :class:`FunctionError`."""
        self.conn.send(message)
        return self.result()

    def result(self) -> Any:
        """The answer to the message sent last; raises :class:`FunctionError`."""
        answer = self._receive()
        if answer[0] == "ok":
            return answer[1]
        raise FunctionError(self.fn.logical_id, *answer[1:])

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


class Containers:
    """Execution environments of one function, as Lambda runs them: each a process that
    handles one event at a time; a request that finds none idle starts another (a cold
    start), up to ``max_environments``, beyond which it waits for one to be free. Warm ones
    are reused, the most recently used first.

    :meth:`control` sends a control message (tools/local/worker.py) to every environment,
    waiting for busy ones; with ``sticky`` a key under which environments started later
    receive it too (:meth:`unstick` forgets it)."""

    def __init__(self, fn: template.Function, max_environments: int = MAX_ENVIRONMENTS) -> None:
        self.fn = fn
        self.max_environments = max_environments
        self._idle: list[Environment] = []
        self._all: list[Environment] = []
        self._starting = 0
        self._sticky: dict[str, tuple[str, tuple]] = {}
        self._cond = threading.Condition()
        self.start_seconds: list[float] = []  # per cold start: fork to handler imported

    def _acquire(self, wanted: Environment | None = None) -> Environment:
        with self._cond:
            while True:
                if wanted is not None:
                    if wanted not in self._all:
                        raise LookupError("environment gone")
                    if wanted in self._idle:
                        self._idle.remove(wanted)
                        return wanted
                elif self._idle:
                    return self._idle.pop()
                elif len(self._all) + self._starting < self.max_environments:
                    self._starting += 1
                    controls = list(self._sticky.values())
                    break
                self._cond.wait()
        try:
            env = Environment(self.fn, controls)
        finally:
            with self._cond:
                self._starting -= 1
                self._cond.notify_all()
        with self._cond:
            self._all.append(env)
            self.start_seconds.append(env.start_s)
        return env

    def _release(self, env: Environment) -> None:
        with self._cond:
            if env.alive:
                self._idle.append(env)
            elif env in self._all:
                self._all.remove(env)
            self._cond.notify_all()

    def invoke(self, event: dict[str, Any]) -> Any:
        env = self._acquire()
        try:
            return env.request("invoke", event)
        finally:
            self._release(env)

    def control(self, op: str, *args: Any, sticky: str | None = None) -> list[Any]:
        return self.finish_control(self.begin_control(op, *args, sticky=sticky))

    def begin_control(self, op: str, *args: Any, sticky: str | None = None) -> tuple[Any, ...]:
        """Send control ``op`` at once to every idle environment (they carry it out in
        parallel); :meth:`finish_control` collects their answers and serves the busy ones."""
        with self._cond:
            if sticky:
                self._sticky[sticky] = (op, args)
            idle = [env for env in self._all if env in self._idle]
            busy = [env for env in self._all if env not in idle]
            for env in idle:
                self._idle.remove(env)
        sent = []
        for env in idle:
            try:
                env.conn.send(("control", op, args))
            except OSError:  # the environment went away: gone from the pool, as for _acquire
                env.stop()
                self._release(env)
            else:
                sent.append(env)
        return op, args, sent, busy

    def finish_control(self, pending: tuple[Any, ...]) -> list[Any]:
        """The answers of the environments :meth:`begin_control` sent ``pending`` to, then
        those of the busy ones, each as soon as it is free. Raises the first
        :class:`FunctionError` (after every sent one has answered)."""
        op, args, sent, targets = pending
        results, errors = [], []
        for env in sent:
            try:
                results.append(env.result())
            except FunctionError as exc:
                errors.append(exc)
            finally:
                self._release(env)
        if errors:
            raise errors[0]
        for env in targets:
            try:
                env = self._acquire(env)
            except LookupError:
                continue
            try:
                results.append(env.request("control", op, args))
            finally:
                self._release(env)
        return results

    def unstick(self, key: str) -> None:
        with self._cond:
            self._sticky.pop(key, None)

    @property
    def environments(self) -> int:
        return len(self._all)

    def close(self) -> None:
        with self._cond:
            envs, self._all, self._idle = list(self._all), [], []
        for env in envs:
            env.stop()


class InProcessContainers:
    """Environments as module instances in this process (no isolation of class state: a
    Powertools router keeps its current event on the class). Only for sequential harnesses
    that hook this process's DynamoDB client, such as the benchmark's meter (bench/bench.py);
    :meth:`control` runs here, once per call."""

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

    def control(self, op: str, *args: Any, sticky: str | None = None) -> list[Any]:
        from tools.local import worker

        return [worker.apply_control(op, args)]

    def unstick(self, key: str) -> None:
        pass

    def close(self) -> None:
        pass
