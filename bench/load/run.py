"""``make load``: a load test of the ``make run`` stack over loopback with locust; writes
``bench/load.json`` and the plot ``docs/load.png`` (docs/benchmarks.md "Load").

Steps: start the stack (``python -m tools.local.serve``, its own Amazon DynamoDB Local, in
memory) on free loopback ports; then for each concurrency a fresh tenant with its own API key
and a request limit of ``LOAD_RATE_LIMIT`` per second (so the tenant limit is checked, one
counter write per request, as in the cloud, but the mix is not cut by it), and one headless
locust run of bench/load/locustfile.py bounded by ``LOAD_SECONDS`` and ``LOAD_MAX_REQUESTS``.
A warm-up run at the largest concurrency comes first (its own tenant, reported apart): it
starts the functions' execution environments, so the measured runs see warm ones, as a steady
load in Lambda does; it ends after ``LOAD_WARMUP_REQUESTS`` answers (10 per user of the largest
run), or at the latest after ``LOAD_WARMUP_SECONDS``.

Environment: ``LOAD_USERS`` ("8,32"), ``LOAD_SECONDS`` (30), ``LOAD_MAX_REQUESTS`` (20000 per
run), ``LOAD_WARMUP_REQUESTS`` (10 per user; 0 skips the warm-up), ``LOAD_WARMUP_SECONDS``
(120), ``LOAD_PLAYERS`` (2000), ``LOAD_RATE_LIMIT`` (10000 requests per second),
``LOAD_OUT`` (bench/load.json), ``LOAD_PLOT`` (docs/load.png; empty: no plot),
``TEST_DYNAMODB_ENDPOINT`` (a loopback URL: use that DynamoDB instead of starting one).
Exits 1 when a measured run had a failure (bench/load/report.py).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.instruments import served  # noqa: E402
from bench.load import plot  # noqa: E402
from tools.local import backend, lambdas  # noqa: E402

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: At the end of a run each user finishes the request it has in flight (answered, counted)
#: within this many seconds, so that the report covers every request the stack served.
STOP_TIMEOUT_S = 30


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def run_locust(base: str, api_key: str, users: int, seconds: float, max_requests: int, players: int) -> dict[str, Any]:
    """One headless locust run of the locustfile against ``base`` (loopback only); returns its
    report (bench/load/locustfile.py) with ``locust_cpu_s``, the CPU seconds locust itself
    used. Raises RuntimeError when locust wrote none."""
    if urlsplit(base).hostname not in LOOPBACK:
        raise ValueError(f"the load test runs against loopback only, not {base}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        cmd = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
            "--host", base, "-u", str(users), "-r", str(users), "--run-time", f"{seconds:g}s",
            "--stop-timeout", str(STOP_TIMEOUT_S), "--max-requests", str(max_requests), "--players", str(players),
            "--report", str(out), "--loglevel", "ERROR", "--exit-code-on-error", "0",
        ]
        before = _children_cpu_s()
        proc = subprocess.run(
            cmd, cwd=ROOT, env={**os.environ, "LOAD_API_KEY": api_key},
            capture_output=True, text=True, timeout=seconds + STOP_TIMEOUT_S + 120,
        )
        if not out.exists():
            raise RuntimeError(f"locust wrote no report (exit {proc.returncode}): {proc.stderr[-2000:]}")
        return json.loads(out.read_text()) | {"locust_cpu_s": round(_children_cpu_s() - before, 1)}


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def stack_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds used so far by the stack's processes, by part: ``dynamodb_local`` (the Java
    engine), ``server`` (the HTTP server, the stream and queue pollers, the moto services: one
    process) and ``environments`` (the functions' execution environments and their fork
    server). Empty without psutil (a dependency of locust)."""
    try:
        import psutil
    except ImportError:
        return {}
    out = {"dynamodb_local": 0.0, "server": 0.0, "environments": 0.0}
    root = psutil.Process(pid)
    for p in [root, *root.children(recursive=True)]:
        try:
            t = p.cpu_times()
            part = "server" if p.pid == pid else "dynamodb_local" if p.name().startswith("java") else "environments"
            out[part] += t.user + t.system
        except psutil.Error:
            continue  # gone meanwhile
    return out


def _measured(stack: served.Served, fn: Any) -> dict[str, Any]:
    """Run ``fn()`` (a locust run) and add ``cpu_s``: CPU seconds of each part of the stack and
    of locust during it, and ``cpu_share`` of the machine's cores over the run's wall time."""
    before, started = stack_cpu_s(stack.pid), time.monotonic()
    report = fn()
    wall = time.monotonic() - started
    after = stack_cpu_s(stack.pid)
    cpu = {k: round(after[k] - before[k], 1) for k in after} | {"locust": report.pop("locust_cpu_s")}
    report["cpu_s"] = cpu
    report["cpu_share_of_machine"] = round(sum(cpu.values()) / (wall * (os.cpu_count() or 1)), 2)
    return report


def _tenant(endpoint: str, table: str, tenant: str, rate_limit: int) -> str:
    """A new API key of ``tenant`` in the stack's table, with the tenant's own request limit."""
    lambdas.use_layer()
    import boto3
    from gamification.dal.store import Store
    from gamification.usecases import apikeys

    backend.use_local_credentials()
    store = Store(boto3.client("dynamodb", endpoint_url=endpoint), table)
    key, _ = apikeys.create(store, tenant, "load")
    apikeys.set_limit(store, tenant, rate_limit, 1)
    return key


def _commit() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return head.strip() + ("+uncommitted changes" if dirty.strip() else "")


def _machine() -> dict[str, Any]:
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version  # importing locust here would monkey-patch this process

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "locust": version("locust"),
    }


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def main() -> int:
    users = [int(u) for u in os.environ.get("LOAD_USERS", "8,32").split(",") if u.strip()]
    seconds = float(os.environ.get("LOAD_SECONDS", "30"))
    max_requests = _env_int("LOAD_MAX_REQUESTS", 20000)
    warmup_requests = _env_int("LOAD_WARMUP_REQUESTS", 10 * max(users))
    warmup_s = float(os.environ.get("LOAD_WARMUP_SECONDS", "120"))
    players = _env_int("LOAD_PLAYERS", 2000)
    rate_limit = _env_int("LOAD_RATE_LIMIT", 10000)
    out = Path(os.environ.get("LOAD_OUT", ROOT / "bench" / "load.json"))
    plot_to = os.environ.get("LOAD_PLOT", str(ROOT / "docs" / "load.png"))
    endpoint = os.environ.get("TEST_DYNAMODB_ENDPOINT", "").strip() or None
    if endpoint and urlsplit(endpoint).hostname not in LOOPBACK:
        raise SystemExit("make load runs on loopback only: TEST_DYNAMODB_ENDPOINT must be a local URL")

    client = None
    if endpoint:
        import boto3

        backend.use_local_credentials()
        client = boto3.client("dynamodb", endpoint_url=endpoint)
    started = datetime.now(timezone.utc)
    result: dict[str, Any] = {
        "generated_at": started.isoformat(timespec="seconds"),
        "commit": _commit(),
        "machine": _machine(),
        "load_average_before": _load_average(),
    }
    print(f"starting the make run stack{' on ' + endpoint if endpoint else ''} ...", flush=True)
    with served.serve(endpoint=endpoint, client=client) as stack:
        if stack is None:
            raise SystemExit("the local stack did not start")
        result["engine"] = stack.engine
        result["stack"] = {
            "server": "tools/local/serve.py (make run): one process per execution environment, "
                      f"at most {os.environ.get('LOCAL_LAMBDA_CONCURRENCY', '8')} per function; "
                      "the authorizer runs on every request (no cache locally)",
            "tenant_rate_limit_per_s": rate_limit,
        }
        result["settings"] = {
            "users": users, "seconds_per_run": seconds, "max_requests_per_run": max_requests,
            "warmup_requests": warmup_requests, "warmup_max_seconds": warmup_s, "players": players, "think_time_s": 0,
            "mix": "task weights of 20: 6 award XP (new Idempotency-Key), 1 replay of an award's key, "
                   "3 coins (daily_login, daily_goal tiers, variant_clear scopes), 2 limits, 3 profile, "
                   "2 daily board top 10, 2 daily board around=5 (bench/load/locustfile.py)",
        }
        if warmup_requests > 0:
            print(f"warm-up: {max(users)} users, {warmup_requests} requests (at most {warmup_s:g} s)", flush=True)
            key = _tenant(stack.endpoint, stack.table, "load-warmup", rate_limit)
            warm = _measured(stack, lambda: run_locust(stack.base, key, max(users), warmup_s, warmup_requests, players))
            result["warmup"] = {k: warm[k] for k in ("seconds", "cpu_s", "cpu_share_of_machine")} | {
                k: warm["total"][k] for k in ("requests", "p50_ms", "p99_ms", "max_ms", "failures")
            }
        runs = []
        for n in users:
            print(f"{n} users for {seconds:g} s (at most {max_requests} requests)", flush=True)
            key = _tenant(stack.endpoint, stack.table, f"load-{n}", rate_limit)
            runs.append(_measured(stack, lambda: run_locust(stack.base, key, n, seconds, max_requests, players)))
            t = runs[-1]["total"]
            print(f"  {t['requests']} requests, {t['requests_per_s']}/s, p50 {t['p50_ms']} ms, "
                  f"p95 {t['p95_ms']} ms, p99 {t['p99_ms']} ms, failures {t['failures']}; "
                  f"CPU s {runs[-1]['cpu_s']}", flush=True)
        result["runs"] = runs
    result["load_average_after"] = _load_average()
    result["elapsed_s"] = round((datetime.now(timezone.utc) - started).total_seconds(), 1)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if plot_to:
        plot.plot(result, Path(plot_to))
        print(f"wrote {plot_to}")
    print(table(result))
    failures = sum(r["total"]["failures"] for r in runs)
    return 1 if failures else 0


def table(result: dict[str, Any]) -> str:
    """The headline figures as a Markdown table (the README's and docs/benchmarks.md's)."""
    lines = [
        "| users | route | requests | requests/s | p50 ms | p95 ms | p99 ms | 429s | failures |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        for name, r in [*run["routes"].items(), ("all routes", run["total"])]:
            limited = sum(r["limited"].values())
            lines.append(
                f"| {run['users']} | {name} | {r['requests']} | {r['requests_per_s']} | {r['p50_ms']} | "
                f"{r['p95_ms']} | {r['p99_ms']} | {limited} | {r['failures']} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
