"""``make bench``: cost and speed of every API operation; prints a table and writes
``bench/results.json``.

- DynamoDB traffic per operation: round trips, items read/written (GSI writes included),
  RCU/WCU from the real item sizes (bench/instruments/ddbmeter.py), against the backend of
  ``TEST_DYNAMODB_ENDPOINT`` (Amazon DynamoDB Local, started for the run, by default; a URL; or ``aws``).
- Warm time per request through the full handler (API Gateway v2 event in, response out)
  with DynamoDB answered from the recorded responses (no I/O).
- Cold start: import time of each handler module in a fresh interpreter against a bare
  ``boto3`` + Powertools + pydantic import, medians of several runs; and, from the built layer,
  each route function's first response (import + first invocation) against a bare one.
- Cost per million requests from public us-east-1 prices (bench/prices.py).
- Informational: requests/s through the ``make run`` stack over loopback.

Options (environment): ``BENCH_WARM_ITERATIONS`` (300), ``BENCH_COLD_RUNS`` (5),
``BENCH_E2E_REQUESTS`` (600), ``BENCH_E2E_SECONDS`` (30), ``BENCH_OUT`` (bench/results.json).

``--only SECTION[,SECTION...]`` runs some sections only (``operations`` = metering and warm
times, alias ``warm``; ``authorizer``; ``board_projection``; ``cold_start``; ``e2e``), e.g.
``python bench/bench.py --only cold_start,warm``; a partial run writes
``build/bench-partial.json`` (or ``BENCH_OUT``), never the committed bench/results.json.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import copy
import glob
import io
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.instruments import ddbmeter, served, target
from bench.operations import OPERATIONS, Operation, Request  # noqa: E402
from bench.prices import PRICES  # noqa: E402
from tools.local import (
    apigw,
    lambdas,
    template,  # noqa: E402
)

WARM_ITERATIONS = int(os.environ.get("BENCH_WARM_ITERATIONS", "300"))
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "5"))
E2E_REQUESTS = int(os.environ.get("BENCH_E2E_REQUESTS", "600"))
E2E_SECONDS = float(os.environ.get("BENCH_E2E_SECONDS", "30"))
OUT = Path(os.environ.get("BENCH_OUT", ROOT / "bench" / "results.json"))
PARTIAL_OUT = Path(os.environ.get("BENCH_OUT", ROOT / "build" / "bench-partial.json"))
#: The sections of a run, in order; ``--only`` picks some (``warm`` is an alias of operations).
SECTIONS = ("operations", "authorizer", "board_projection", "cold_start", "e2e")
SECTION_ALIASES = {"warm": "operations"}
REPS = 3  # each operation is metered on this many fresh users

#: Authorizer results are cached 300 s per API key (template.yaml ReauthorizeEvery). We assume
#: a caller sends this many requests per key per cache window (about 3.3 requests/s).
AUTH_REQUESTS_PER_CACHE_WINDOW = 1000


# ---- driving handlers ---------------------------------------------------------------------


class Driver:
    """Calls the template's functions in-process with real-shaped API Gateway v2 events."""

    def __init__(self, api: apigw.LocalHttpApi, tenant: str, api_key: str) -> None:
        self.api, self.tenant, self.api_key = api, tenant, api_key

    def event(self, req: Request) -> tuple[str, dict[str, Any]]:
        method, path, body, key = req
        found = self.api.route(method, path.split("?", 1)[0])
        if found is None:
            raise LookupError(f"no route for {method} {path}")
        logical_id, route, params = found
        headers = {"authorization": f"Bearer {self.api_key}", "content-type": "application/json"}
        if key:
            headers["idempotency-key"] = key
        event = apigw.http_event(
            method, path, headers, json.dumps(body) if body is not None else None, route, params,
            authorizer_context={"tenant_id": self.tenant},
        )
        return logical_id, event

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        with contextlib.redirect_stdout(io.StringIO()):  # Powertools metrics print EMF lines
            return self.api.invoke(logical_id, event)

    def call(self, req: Request) -> dict[str, Any]:
        logical_id, event = self.event(req)
        return self.invoke(logical_id, event)


def _timings(fn, iterations: int) -> list[float]:
    for _ in range(min(20, iterations)):  # warm-up: caches, lazily built validators
        fn()
    out = []
    for _ in range(iterations):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _summary(ms: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(ms), 3),
        "p99_ms": round(statistics.quantiles(ms, n=100)[98], 3),
        "samples": len(ms),
    }


class WarmCase:
    """One operation's request, timed through the full handler with DynamoDB replayed."""

    def __init__(self, driver: Driver, client: Any, req: Request, script: list) -> None:
        self.driver, self.client, self.script = driver, client, script
        self.logical_id, self.event = driver.event(req)
        self.samples: list[float] = []

    def run(self, timed: bool = True) -> None:
        event = copy.deepcopy(self.event)
        replay = ddbmeter.Replayer(self.client, self.script) if self.script else contextlib.nullcontext()
        with replay:
            t = time.perf_counter()
            result = self.driver.invoke(self.logical_id, event)
            elapsed = (time.perf_counter() - t) * 1000
        if result["statusCode"] != 200:
            raise RuntimeError(f"warm run answered {result['statusCode']}: {result.get('body')}")
        if timed:
            self.samples.append(elapsed)


def warm_times(cases: dict[str, WarmCase]) -> dict[str, dict[str, float]]:
    """Time every case ``WARM_ITERATIONS`` times, round-robin, so that the load of a shared
    machine falls on all operations alike; 20 untimed warm-up rounds first."""
    for _ in range(min(20, WARM_ITERATIONS)):
        for case in cases.values():
            case.run(timed=False)
    for _ in range(WARM_ITERATIONS):
        for case in cases.values():
            case.run()
    return {name: _summary(case.samples) for name, case in cases.items()}


# ---- costs --------------------------------------------------------------------------------


def memory_mb() -> int:
    return int(template.load().get("Globals", {}).get("Function", {}).get("MemorySize", 128))


def dynamodb_usd_per_million(rcu: float, wcu: float) -> float:
    p = PRICES["dynamodb_on_demand"]
    return wcu * p["usd_per_million_write_request_units"] + rcu * p["usd_per_million_read_request_units"]


def lambda_usd_per_million(ms: float, mem_mb: int) -> float:
    p = PRICES["lambda_arm64"]
    billed_s = math.ceil(ms) / 1000
    return 1e6 * billed_s * (mem_mb / 1024) * p["usd_per_gb_second"] + p["usd_per_million_requests"]


# ---- cold start ---------------------------------------------------------------------------

_IMPORT_MODULE = """
import importlib.util, sys, time
sys.path.insert(0, {layer!r})
t = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
print((time.perf_counter() - t) * 1000)
"""
_IMPORT_TIMED = """
import time
t = time.perf_counter()
{code}
print((time.perf_counter() - t) * 1000)
"""
_BARE = "import boto3, aws_lambda_powertools, pydantic"
# A first response: the function's events/ sample for a user of its own (so no run meets
# another's limits or idempotency keys), then the clock runs over the import and the first
# invocation; a 5xx fails the run.
_FIRST_RESPONSE = """
import json, sys, time, uuid
user = "bench-" + uuid.uuid4().hex[:12]
text = open({event!r}).read().replace("alice", user)
event = json.loads(text.replace('"idempotency-key": "', '"idempotency-key": "' + user))
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "bench", 512, user
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    def get_remaining_time_in_millis(self):
        return 10_000
t = time.perf_counter()
import {module} as function
response = function.{handler}(event, Context())
ms = (time.perf_counter() - t) * 1000
if response["statusCode"] >= 500:
    sys.exit(f"status {{response['statusCode']}}: {{response['body'][:300]}}")
print(ms)
"""
# The bare first response: the bare import, a DynamoDB client and one GetItem.
_BARE_FIRST = (_BARE + "; boto3.client('dynamodb').get_item(TableName={table!r}, "
               "Key={{'pk': {{'S': 'bench#bare'}}, 'sk': {{'S': 'PROFILE'}}}})")
#: Route functions whose first request needs a service with no local stand-in in the bench.
FIRST_RESPONSE_SKIPPED = {"WebhooksFunction": "its first request encrypts the secret with KMS"}


#: The handler also imported as in Lambda with tracing on (cold_start "traced").
TRACED_FUNCTION = "AwardXpFunction"
#: The handler also imported from the layer without its bytecode (how the layer shipped before).
UNCOMPILED_FUNCTION = "AwardXpFunction"

#: An import to time: the command line and its environment.
ImportCase = tuple[list[str], dict[str, str]]


def _median_import_ms(cases: dict[str, ImportCase]) -> dict[str, float]:
    """The median import time of each case in ms over :data:`COLD_RUNS` rounds, the cases run
    interleaved (so the machine's changing load falls on all alike) after one unmeasured run
    each (the page cache)."""

    def ms(argv: list[str], env: dict[str, str]) -> float:
        out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True, timeout=120)
        return float(out.stdout.strip().splitlines()[-1])

    for case in cases.values():
        ms(*case)
    runs: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(COLD_RUNS):
        for name, case in cases.items():
            runs[name].append(ms(*case))
    return {name: statistics.median(v) for name, v in runs.items()}


def _timing(ms: float, bare_ms: float) -> dict[str, float]:
    """``{"ms", "ratio"}``: an import's median and its ratio to the bare import's."""
    return {"ms": round(ms, 1), "ratio": round(ms / bare_ms, 2)}


def cold_start(functions: dict[str, template.Function], table: str | None = None) -> dict[str, Any]:
    """Import time of each handler module, each in a fresh interpreter, against a bare import
    of boto3 + Powertools + pydantic.

    Outside Lambda (no ``LAMBDA_TASK_ROOT``) tracing is off, as Powertools itself decides, so
    the handlers load no X-Ray SDK. ``traced`` is one handler imported as in Lambda with
    ``Tracing: Active`` (``LAMBDA_TASK_ROOT`` set): what the X-Ray SDK adds where it runs.

    Our modules are byte-compiled first, as the built layer ships them (layers/common/Makefile;
    pip compiled the libraries at install): where ``PYTHONDONTWRITEBYTECODE`` is set, every run
    would otherwise compile our modules from source and the libraries not. ``deployed`` is
    :func:`deployed_cold_start`.
    """
    compileall.compile_dir(str(lambdas.LAYER_PATH), quiet=1)
    for fn in functions.values():
        compileall.compile_dir(str(fn.code_dir), quiet=1, maxlevels=0)
    env = {k: v for k, v in os.environ.items() if k != "POWERTOOLS_TRACE_DISABLED"}
    for fn in functions.values():
        env.update({k: v for k, v in fn.environment.items() if k not in env})
    cases: dict[str, ImportCase] = {"bare": ([sys.executable, "-c", _IMPORT_TIMED.format(code=_BARE)], env)}
    for lid, fn in sorted(functions.items()):
        module = fn.handler.rsplit(".", 1)[0]
        path = str(fn.code_dir / f"{module}.py")
        argv = [sys.executable, "-c", _IMPORT_MODULE.format(layer=str(lambdas.LAYER_PATH), path=path)]
        cases[lid] = (argv, env)
        if lid == TRACED_FUNCTION:
            cases["traced"] = (argv, {**env, "LAMBDA_TASK_ROOT": str(fn.code_dir)})
    medians = _median_import_ms(cases)
    bare = medians.pop("bare")
    traced = medians.pop("traced", None)
    handlers = {name: _timing(v, bare) for name, v in medians.items()}
    out: dict[str, Any] = {
        **handlers,  # one {"ms", "ratio"} per function of template.yaml
        "bare_ms": round(bare, 1),
        "max_ratio": max(h["ratio"] for h in handlers.values()),
        "runs": COLD_RUNS,
        "what": "module import in a fresh interpreter (median); bare = import boto3, aws_lambda_powertools, pydantic; "
        "tracing off as outside Lambda",
    }
    if traced:
        out["traced"] = {
            "function": TRACED_FUNCTION,
            **_timing(traced, bare),
            "what": "the same import with LAMBDA_TASK_ROOT set: tracing on, the X-Ray SDK loaded (not in max_ratio)",
        }
    out["deployed"] = deployed_cold_start(functions, env, table)
    return out


def runtime_python() -> tuple[str, str] | None:
    """(path, version) of a Python of the functions' runtime (template.yaml ``Runtime``, e.g.
    python3.13): ``BENCH_RUNTIME_PYTHON``, else ``python3.13`` on PATH, else pyenv's; None if
    there is none."""
    version = template.load()["Globals"]["Function"]["Runtime"].removeprefix("python")
    candidates = [os.environ.get("BENCH_RUNTIME_PYTHON"), shutil.which(f"python{version}"),
                  *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")))]
    for exe in filter(None, candidates):
        probe = subprocess.run([exe, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.startswith(version + "."):
            return exe, probe.stdout.strip()
    return None


def deployed_cold_start(functions: dict[str, template.Function], env: dict[str, str], table: str | None) -> dict[str, Any]:
    """Each handler imported as in Lambda: the runtime's Python, the layer built by
    layers/common/Makefile (for this machine's architecture) as the only library path, and no
    bytecode written (Lambda's /opt and /var/task are read-only); against the bare import from
    the same layer. ``without_bytecode``: the bare import and :data:`UNCOMPILED_FUNCTION` from
    the same layer with its ``__pycache__`` removed. ``first_response``: each route function's import and
    first invocation with its ``events/`` sample against ``table``, against the bare import
    plus a DynamoDB client and one GetItem (the part a ratio of imports cannot see). Skipped (with the reason) when no Python of the runtime's version is
    installed or the layer cannot be built."""
    found = runtime_python()
    if not found:
        return {"skipped": "no Python of the functions' runtime version (set BENCH_RUNTIME_PYTHON)"}
    exe, version = found
    wheel_platform = {"x86_64": "manylinux2014_x86_64", "aarch64": "manylinux2014_aarch64",
                      "arm64": "manylinux2014_aarch64"}.get(platform.machine())
    if not wheel_platform:
        return {"skipped": f"no Linux wheels for this machine's architecture ({platform.machine()})"}
    built = ROOT / "build" / "bench-layer"
    shutil.rmtree(built, ignore_errors=True)
    make = subprocess.run(
        ["make", "-C", str(ROOT / "layers" / "common"), "--no-print-directory", "build-CommonLayer",
         f"ARTIFACTS_DIR={built / 'compiled'}", f"PLATFORM={wheel_platform}", f"LAYER_PYTHON={exe}",
         f"PIP_PYTHON={sys.executable}"],
        capture_output=True, text=True)
    if make.returncode:
        return {"skipped": f"layer build failed: {make.stderr.strip()[-300:]}"}
    shutil.copytree(built / "compiled", built / "source", ignore=shutil.ignore_patterns("__pycache__"))

    def case(layer: str, code: str, code_dir: Path | None = None, timed: bool = True) -> ImportCase:
        """``code`` run from the built layer (``timed``: within :data:`_IMPORT_TIMED`)."""
        path = ":".join(str(p) for p in (code_dir, built / layer / "python") if p)
        argv = [exe, "-S", "-c", _IMPORT_TIMED.format(code=code) if timed else code]
        return argv, {**env, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": path}

    cases = {"bare": case("compiled", _BARE), "bare_without_bytecode": case("source", _BARE)}
    for lid, fn in sorted(functions.items()):
        cases[lid] = case("compiled", f"import {fn.handler.rsplit('.', 1)[0]}", fn.code_dir)
    fn = functions[UNCOMPILED_FUNCTION]
    cases["function_without_bytecode"] = case("source", f"import {fn.handler.rsplit('.', 1)[0]}", fn.code_dir)
    instructions = deployed_instructions(
        {"empty": case("compiled", "pass"),
         **{name: c for name, c in cases.items() if name not in ("bare_without_bytecode", "function_without_bytecode")}})  # fmt: skip
    first_cases: dict[str, ImportCase] = {}
    if table:
        first_cases["bare"] = case("compiled", _BARE_FIRST.format(table=table))
        for lid, fn in sorted(functions.items()):
            if fn.routes and lid not in FIRST_RESPONSE_SKIPPED:
                module, handler = fn.handler.rsplit(".", 1)
                event = str(ROOT / "events" / f"{fn.code_dir.name}.json")
                first_cases[lid] = case("compiled", _FIRST_RESPONSE.format(event=event, module=module, handler=handler),
                                        fn.code_dir, timed=False)  # fmt: skip
    medians = _median_import_ms({**cases, **{f"first {k}": v for k, v in first_cases.items()}})
    first = {k.removeprefix("first "): medians.pop(k) for k in list(medians) if k.startswith("first ")}
    bare_ms, bare_src, fn_src = medians.pop("bare"), medians.pop("bare_without_bytecode"), medians.pop("function_without_bytecode")
    handlers = {name: _timing(v, bare_ms) for name, v in medians.items()}
    if first:
        bare_first = first.pop("bare")
        first_response: dict[str, Any] = {
            **{name: _timing(v, bare_first) for name, v in first.items()},
            "bare_ms": round(bare_first, 1),
            "skipped": FIRST_RESPONSE_SKIPPED,
            "what": "import and first invocation of each route function with its events/ sample (a new user per "
            "run) against the bench table, as a cold start answers its first request; bare = the bare import, a "
            "DynamoDB client and one GetItem, from the same layer (median)",
        }
        first_response["max_ratio"] = max(h["ratio"] for h in first_response.values() if isinstance(h, dict) and "ratio" in h)
    else:
        first_response = {"skipped": "needs the bench table"}
    return {
        **handlers,
        "bare_ms": round(bare_ms, 1),
        "max_ratio": max(h["ratio"] for h in handlers.values()),
        "python": version,
        "layer": f"layers/common/Makefile for {wheel_platform}",
        "without_bytecode": {
            "bare_ms": round(bare_src, 1),
            "function": UNCOMPILED_FUNCTION,
            **_timing(fn_src, bare_ms),
            "what": "the same layer with its __pycache__ removed (as it shipped before): every module compiled "
            "at import; ratio to the bare import with bytecode",
        },
        "first_response": first_response,
        "instructions": instructions,
        "what": "module import with the runtime's Python, the built layer as the only library path (-S), "
        "PYTHONDONTWRITEBYTECODE as on Lambda's read-only file system (median)",
    }


def deployed_instructions(cases: dict[str, ImportCase]) -> dict[str, Any]:
    """The deployed imports counted in instructions instead of seconds: per handler
    ``{"millions"`` (of the import alone)``, "ratio"}``, the ratio being (handler - empty) / (bare - empty), where
    ``empty`` is the interpreter starting and exiting with the same environment, so the
    ratio compares the imports alone, as the timed ratios do. Deterministic, so this is the
    ratio to compare between runs and commits. Skipped without valgrind."""
    if not shutil.which("valgrind"):
        return {"skipped": "valgrind is not installed"}

    def count(case: ImportCase) -> int:  # single-threaded: os.cpu_count() run at a time
        argv, env = case
        out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
                             env=env, capture_output=True, text=True, check=True, timeout=600)
        return int(out.stderr.rsplit("Collected :", 1)[1].split()[0])

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = dict(zip(cases, pool.map(count, cases.values()), strict=True))
    empty = counts.pop("empty")
    bare_import = counts.pop("bare") - empty
    handlers = {name: {"millions": round((n - empty) / 1e6, 1), "ratio": round((n - empty) / bare_import, 3)}
                for name, n in sorted(counts.items())}  # fmt: skip
    return {
        **handlers,
        "bare_millions": round(bare_import / 1e6, 1),
        "max_ratio": max(h["ratio"] for h in handlers.values()),
        "what": "instructions (valgrind callgrind) of each deployed import, interpreter start-up "
        "subtracted; ratio = (handler - empty) / (bare - empty); independent of the machine's load",
    }


# ---- end to end ---------------------------------------------------------------------------


def e2e_requests_per_s(tgt: target.Target) -> dict[str, Any]:
    """Requests/s through ``python -m tools.local.serve`` (the make run stack) over loopback."""
    import requests

    if tgt.kind.startswith("aws"):
        return {"skipped": "the make run stack embeds its own DynamoDB; not measured against aws"}
    with served.serve(endpoint=None if tgt.embedded else tgt.endpoint, client=tgt.client) as stack:
        if stack is None:
            return {"skipped": "the local server did not start"}
        base, key = stack.base, stack.api_key
        session_local = threading.local()

        def one(i: int) -> int:
            try:
                return request(i)
            except requests.RequestException:  # a timeout on a loaded machine is a figure, not a crash
                return 0

        def request(i: int) -> int:
            s = getattr(session_local, "s", None)
            if s is None:
                s = session_local.s = requests.Session()
                s.headers["Authorization"] = f"Bearer {key}"
            user = f"e2e-{i % 200}"
            kind = i % 4
            if kind in (0, 1):
                r = s.post(f"{base}/v1/users/{user}/xp", json={"action": "forked"},
                           headers={"Idempotency-Key": f"e2e-{i}"}, timeout=30)
            elif kind == 2:
                r = s.get(f"{base}/v1/users/{user}/limits", timeout=30)
            else:
                r = s.get(f"{base}/v1/users/{user}", timeout=30)
            return r.status_code

        started = time.perf_counter()
        stop = started + E2E_SECONDS
        codes: list[int] = []
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = []
            for i in range(E2E_REQUESTS):
                futures.append(pool.submit(lambda i=i: one(i) if time.perf_counter() < stop else None))
            for f in futures:
                code = f.result()
                if code is not None:
                    codes.append(code)
        elapsed = time.perf_counter() - started
        return {
            "requests": len(codes),
            "seconds": round(elapsed, 2),
            "requests_per_s": round(sum(c > 0 for c in codes) / elapsed, 1),  # answered requests
            "server_errors": sum(c >= 500 for c in codes),
            "client_errors": sum(c == 0 for c in codes),  # timeouts (30 s) and connection errors
            "clients": 8,
            "mix": "50% POST xp (forked), 25% GET limits, 25% GET profile, 200 users",
        }


# ---- leaderboard projection ----------------------------------------------------------------

#: The batch size (stream records per projector invocation) the award figures are stated at.
PROJECTION_BATCH = 1000


def measure_projection(driver: Driver, rec: ddbmeter.Recorder, tgt: target.Target, api: apigw.LocalHttpApi, mem: int) -> dict[str, Any]:
    """Projector capacity per award at stated loads, and board freshness (bench/board_projection.py)."""
    from gamification.dal.store import Store
    from gamification.usecases import auth

    from bench import board_projection
    from tools.local import streams as local_streams

    def new_tenant() -> tuple[str, str]:
        t, k = f"bench-{uuid.uuid4().hex[:8]}", auth.new_api_key()
        auth.register_api_key(Store(tgt.client, tgt.table), t, k)
        return t, k

    cap = board_projection.capacity(driver, rec, tgt.client, tgt.table, new_tenant)
    for row in cap.values():
        row["usd_per_million_ddb"] = round(dynamodb_usd_per_million(row["rcu_per_award"], row["wcu_per_award"]), 4)
        # one invocation per batch, billed for the measured time per batch (local I/O included: an upper bound)
        per_batch_s = row.pop("seconds") / row["batches"]
        p = PRICES["lambda_arm64"]
        invocations = 1e6 / (row["records"] / row["batches"]) * (row["records"] / row["awards"])
        row["usd_per_million_lambda"] = round(
            invocations * (p["usd_per_million_requests"] / 1e6 + per_batch_s * mem / 1024 * p["usd_per_gb_second"]), 4)
    server = apigw.make_server(api, port=0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # Only the projector's mapping: freshness is about boards, and the domain-events consumer
    # would replay the whole run's ledger through the bus first.
    poller = local_streams.start(tgt.client, tgt.table, api.invoke, only=("BoardProjectorFunction",))
    try:
        poller.wait_until_drained(timeout=300)
        tenant, key = new_tenant()
        fresh = board_projection.freshness(f"http://127.0.0.1:{server.server_address[1]}", key)
    finally:
        poller.stop()
        server.shutdown()
        server.server_close()
    return {"capacity": cap, "freshness": fresh}


# ---- main ---------------------------------------------------------------------------------


def measure_operation(
    driver: Driver, rec: ddbmeter.Recorder, client: Any, op: Operation
) -> tuple[dict[str, Any], WarmCase]:
    reps = []
    script: list = []
    for rep in range(REPS):
        user = f"{op.name.replace('_', '-')}-{rep}-{uuid.uuid4().hex[:6]}"
        for req in op.setup(user):
            result = driver.call(req)
            if result["statusCode"] != 200:
                raise RuntimeError(f"{op.name} setup {req[:2]} answered {result['statusCode']}: {result.get('body')}")
        with rec:  # meter the measured request only (the meter's own reads are not timed)
            rec.reset()
            result = driver.call(op.request(user))
        if result["statusCode"] != 200:
            raise RuntimeError(f"{op.name} answered {result['statusCode']}: {result.get('body')}")
        reps.append(rec.totals())
        script = rec.script()
        last_user = user
    if len({t.requests for t in reps}) != 1:
        raise RuntimeError(f"{op.name}: round trips differ between repetitions: {[t.requests for t in reps]}")
    t = reps[-1]
    row = t.as_dict()
    row["rcu"] = round(statistics.mean(r.rcu for r in reps), 3)
    row["wcu"] = round(statistics.mean(r.wcu for r in reps), 3)
    row["usd_per_million"] = round(dynamodb_usd_per_million(row["rcu"], row["wcu"]), 4)
    if op.note:
        row["note"] = op.note
    return row, WarmCase(driver, client, op.request(last_user), script)


def parse_sections(argv: list[str] | None = None) -> tuple[str, ...]:
    """The sections to run: all of ``SECTIONS`` unless ``--only`` names some."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help=f"comma-separated sections: {', '.join(SECTIONS)} (warm = operations)")
    args = parser.parse_args(argv)
    if not args.only:
        return SECTIONS
    wanted = {SECTION_ALIASES.get(s.strip(), s.strip()) for s in args.only.split(",") if s.strip()}
    unknown = wanted - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}, warm")
    return tuple(s for s in SECTIONS if s in wanted)


def main(argv: list[str] | None = None) -> int:
    sections = parse_sections(argv)
    partial = sections != SECTIONS
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon here
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    # One tenant fires faster than its default request limit here; the limit and its cost are
    # measured on their own (docs/security.md, tests/integration/test_rate_limits.py).
    os.environ.setdefault("GAMIFICATION_RATE_LIMIT", "0")
    started = time.perf_counter()
    declared = set(template.functions("x"))
    operations: dict[str, Any] = {}
    pending: dict[str, str] = {}
    authorizer: dict[str, Any] | None = None
    projection: dict[str, Any] | None = None
    cold: dict[str, Any] | None = None
    e2e: dict[str, Any] = {}
    with target.dynamodb("gamification-bench") as tgt:
        lambdas.use_layer()
        from gamification import runtime
        from gamification.dal.store import Store, dynamodb_client
        from gamification.usecases import auth

        runtime.reset()
        # In this process: the meter and the replayer hook the functions' DynamoDB client
        # (botocore events), and the operations run one at a time (the end-to-end figure
        # goes through the make run stack, whose environments are processes).
        api = apigw.LocalHttpApi(tgt.table, isolation="in-process")
        tenant, api_key = f"bench-{uuid.uuid4().hex[:8]}", auth.new_api_key()
        auth.register_api_key(Store(tgt.client, tgt.table), tenant, api_key)
        driver = Driver(api, tenant, api_key)
        client = dynamodb_client()
        shape = ddbmeter.TableShape.from_definition(template.table_definition())
        rec = ddbmeter.Recorder(client, tgt.client, tgt.table, shape)
        mem = memory_mb()
        if "operations" in sections:
            cases: dict[str, WarmCase] = {}
            for op in OPERATIONS:
                if op.function not in declared:
                    pending[op.name] = f"{op.function} is not in template.yaml yet (leaderboards are built on another branch)"
                    continue
                print(f"measuring {op.name} ...", flush=True)
                operations[op.name], cases[op.name] = measure_operation(driver, rec, client, op)
            print("timing warm requests ...", flush=True)
            for name, warm in warm_times(cases).items():
                operations[name]["warm"] = warm

        auth_per_million = 0.0
        if "authorizer" in sections:
            # the authorizer, amortised over its 300 s cache
            auth_id = api.authorizer
            _, ev = driver.event(("GET", "/v1/levels", None, None))
            auth_event = apigw.authorizer_event(ev, [f"Bearer {api_key}"])
            with rec, contextlib.redirect_stdout(io.StringIO()):
                rec.reset()
                decision = api.invoke(auth_id, copy.deepcopy(auth_event))
            assert decision["context"]["tenant_id"] == tenant, decision
            auth_totals = rec.totals()
            auth_script = rec.script()
            with ddbmeter.Replayer(client, auth_script):
                auth_warm = _summary(_timings(
                    lambda: api.invoke(auth_id, copy.deepcopy(auth_event)),
                    WARM_ITERATIONS,
                ))
            auth_warm["note"] = "timed on its own after the operations (not round-robin)"
            auth_invocation_usd = (
                dynamodb_usd_per_million(auth_totals.rcu, auth_totals.wcu) + lambda_usd_per_million(auth_warm["median_ms"], mem)
            ) / 1e6
            auth_per_million = 1e6 / AUTH_REQUESTS_PER_CACHE_WINDOW * auth_invocation_usd
            authorizer = {
                **auth_totals.as_dict(),
                "warm": auth_warm,
                "usd_per_invocation": auth_invocation_usd,
                "invocations_per_million_requests": 1e6 / AUTH_REQUESTS_PER_CACHE_WINDOW,
                "usd_per_million_requests": round(auth_per_million, 4),
                "usd_per_million_requests_without_cache": round(auth_invocation_usd * 1e6, 4),
            }
        api_gw = PRICES["api_gateway_http_api"]["usd_per_million_requests"]
        for row in operations.values():
            lam = lambda_usd_per_million(row["warm"]["median_ms"], mem)
            row["lambda_usd_per_million"] = round(lam, 4)
            row["usd_per_million_all_in"] = round(row["usd_per_million"] + lam + api_gw + auth_per_million, 4)

        if "board_projection" in sections:
            # ---- leaderboard projection: the projector's capacity per award, board freshness ----
            print("measuring the board projection ...", flush=True)
            projection = measure_projection(driver, rec, tgt, api, mem)
            driver.tenant, driver.api_key = tenant, api_key
            for name in ("award_xp", "award_xp_partial", "coins_once"):
                if name in operations:
                    per = projection["capacity"][f"batch_{PROJECTION_BATCH}"]
                    row = operations[name]
                    row["with_projection"] = {
                        "wcu": round(row["wcu"] + per["wcu_per_award"], 3),
                        "rcu": round(row["rcu"] + per["rcu_per_award"], 3),
                        "usd_per_million_all_in": round(
                            row["usd_per_million_all_in"] + per["usd_per_million_ddb"] + per["usd_per_million_lambda"], 4),
                        "load": per["load"],
                    }

        if "cold_start" in sections:
            print("measuring cold starts ...", flush=True)
            cold = cold_start(api.functions, tgt.table)
        if "e2e" in sections:
            print("measuring end-to-end requests/s through the local stack ...", flush=True)
            e2e = e2e_requests_per_s(tgt)

    results = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "backend": tgt.kind,
        "machine": {"python": sys.version.split()[0], "platform": sys.platform, "cpus": os.cpu_count()},
        "prices": PRICES,
        "assumptions": {
            "lambda_memory_mb": mem,
            "lambda_duration": "the measured warm in-process median per operation (DynamoDB stubbed, so "
            "network latency to DynamoDB is not billed here; add about requests x 5-10 ms in AWS), rounded up to 1 ms",
            "authorizer": f"one invocation per API key per 300 s cache window, {AUTH_REQUESTS_PER_CACHE_WINDOW} "
            "requests per key per window; its GetItem is eventually consistent",
            "idempotency_keys": "every award carries an Idempotency-Key, as the API recommends",
            "rcu_wcu": "computed from the items' real sizes (bench/instruments/ddbmeter.py); GSI writes counted from the "
            "template's GlobalSecondaryIndexes",
            "tracing": "POWERTOOLS_TRACE_DISABLED (no X-Ray daemon locally); metrics and logs enabled",
        },
    }
    if "operations" in sections:
        warm_all = [row["warm"]["median_ms"] for row in operations.values()]
        results["operations"] = operations
        results["pending"] = dict(pending)
    if projection is not None:
        results["board_projection"] = projection
    if authorizer is not None:
        results["authorizer"] = authorizer
    if cold is not None:
        results["cold_start"] = cold
    if "operations" in sections:
        results["warm"] = {
            "median_ms": round(statistics.median(warm_all), 3),
            "p99_ms": round(max(row["warm"]["p99_ms"] for row in operations.values()), 3),
            "what": "median of the per-operation medians; p99 = worst per-operation p99",
            "iterations_per_operation": WARM_ITERATIONS,
        }
    if "e2e" in sections:
        results["e2e_requests_per_s"] = e2e.get("requests_per_s")
        results["e2e"] = e2e
    return _write(results, started, partial)


def _write(results: dict[str, Any], started: float, partial: bool) -> int:
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    out = PARTIAL_OUT if partial else OUT
    if partial:
        results["sections"] = [s for s in SECTIONS if s in results]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


def _print_ratios(rows: dict[str, Any], value: str = "ms", unit: str = "ms", places: int = 2) -> None:
    """One line per ``{value, "ratio"}`` row of a cold-start section (other keys skipped)."""
    for name, h in rows.items():
        if isinstance(h, dict) and value in h and "ratio" in h:
            print(f"  {name:<30}{h[value]:>8.1f} {unit:<2} x{h['ratio']:.{places}f}")


def print_table(r: dict[str, Any]) -> None:
    """The run's figures as text; a partial run (``--only``) prints the sections it ran."""
    if "operations" in r:
        print(f"\nbackend: {r['backend']}   prices: {r['prices']['region']} ({r['prices']['as_of'][:10]})")
        head = f"{'operation':<20}{'reqs':>5}{'read':>6}{'writ':>6}{'RCU':>7}{'WCU':>7}{'$/M ddb':>9}{'$/M all':>9}{'warm ms':>9}{'p99 ms':>8}"
        print(head)
        print("-" * len(head))
        for name, row in r["operations"].items():
            print(
                f"{name:<20}{row['requests']:>5}{row['items_read']:>6}{row['items_written']:>6}{row['rcu']:>7.1f}"
                f"{row['wcu']:>7.1f}{row['usd_per_million']:>9.3f}{row['usd_per_million_all_in']:>9.3f}"
                f"{row['warm']['median_ms']:>9.2f}{row['warm']['p99_ms']:>8.2f}"
            )
        for name, reason in r["pending"].items():
            print(f"{name:<20} pending: {reason}")
    if "authorizer" in r:
        a = r["authorizer"]
        print(f"{'(authorizer)':<20}{a['requests']:>5}{a['items_read']:>6}{a['items_written']:>6}{a['rcu']:>7.1f}"
              f"{a['wcu']:>7.1f}   per invocation ${a['usd_per_invocation']:.2e}, warm {a['warm']['median_ms']:.2f} ms")
    bp = r.get("board_projection")
    if bp:
        print("\nboard projector, per award (amortised over its batches):")
        for name, row in bp["capacity"].items():
            print(f"  {row['load']:<44} RCU {row['rcu_per_award']:.2f}  WCU {row['wcu_per_award']:.2f}  "
                  f"$/M ddb {row['usd_per_million_ddb']:.3f} + lambda {row['usd_per_million_lambda']:.3f}")
        for name, row in r.get("operations", {}).items():
            if "with_projection" in row:
                w = row["with_projection"]
                print(f"  {name:<20} with its boards: WCU {w['wcu']:.1f}, $/M all-in {w['usd_per_million_all_in']:.2f}")
        f = bp["freshness"]
        print(f"  board freshness: p50 {f['p50_s']} s, p99 {f['p99_s']} s, max {f['max_s']} s ({f['samples']} awards)")
    if "cold_start" in r:
        c = r["cold_start"]
        print(f"\ncold start (import, median of {c['runs']}): bare boto3+Powertools+pydantic {c['bare_ms']} ms")
        _print_ratios({k: v for k, v in c.items() if k != "traced"})
        print(f"  max ratio x{c['max_ratio']:.2f}")
        if "traced" in c:
            t = c["traced"]
            print(f"  {t['function']} with tracing on (X-Ray SDK): {t['ms']:.1f} ms  x{t['ratio']:.2f}")
        d = c.get("deployed", {})
        if "skipped" in d:
            print(f"deployed cold start: skipped ({d['skipped']})")
        elif d:
            print(f"\ndeployed cold start (Python {d['python']}, the built layer, median of {c['runs']}): bare {d['bare_ms']} ms")
            _print_ratios({k: v for k, v in d.items() if k != "without_bytecode"})
            print(f"  max ratio x{d['max_ratio']:.2f}")
            n = d.get("instructions", {})
            if "skipped" in n:
                print(f"  instructions: skipped ({n['skipped']})")
            elif n:
                print(f"  instructions (valgrind): bare import {n['bare_millions']} M")
                _print_ratios(n, "millions", "M", 3)
                print(f"  max ratio x{n['max_ratio']:.3f}")
            w = d["without_bytecode"]
            print(f"  without the layer's bytecode: bare {w['bare_ms']} ms, {w['function']} {w['ms']} ms x{w['ratio']:.2f}")
            f = d["first_response"]
            if "bare_ms" in f:
                print(f"\nfirst response (import + first invocation, the built layer): bare {f['bare_ms']} ms")
                _print_ratios(f)
                print(f"  max ratio x{f['max_ratio']:.2f}; skipped: {f['skipped']}")
    if "warm" in r:
        print(f"\nwarm: median {r['warm']['median_ms']} ms, worst p99 {r['warm']['p99_ms']} ms")
    if "e2e" in r:
        e = r["e2e"]
        if "requests_per_s" in e:
            print(f"end to end through the local stack: {e['requests_per_s']} requests/s "
                  f"({e['requests']} requests, {e['server_errors']} server errors)")
        else:
            print(f"end to end: {e.get('skipped')}")


if __name__ == "__main__":
    sys.exit(main())
