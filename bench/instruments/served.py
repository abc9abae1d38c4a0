"""The ``make run`` stack (``python -m tools.local.serve``) as a subprocess on loopback, for
measurements through real HTTP: the end-to-end phase of ``make bench`` and ``make load``.

The stack starts its own Amazon DynamoDB Local (as ``make run`` does) unless ``endpoint``
names another DynamoDB, where it creates a table of its own that is deleted afterwards.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

#: What the stack prints when it is up (tools/local/serve.py), as ``Served`` fields.
_BANNER = {
    "base": r"API v1 on (http://\S+)",
    "endpoint": r"^\s+DynamoDB\s+(\S+)",
    "engine": r"^\s+engine\s+(.+?)\s*$",
    "api_key": r"API key\s+(\S+)",
}


@dataclass
class Served:
    base: str  # http://127.0.0.1:<port>
    api_key: str  # the stack's own key (tenant "local")
    endpoint: str  # the DynamoDB endpoint the stack uses
    engine: str  # e.g. "Amazon DynamoDB Local 3.3.1, in memory"
    table: str
    pid: int  # the stack's process (its children: DynamoDB Local, the execution environments)


@contextlib.contextmanager
def serve(
    endpoint: str | None = None, client: Any = None, env: dict[str, str] | None = None, start_timeout_s: float = 120
) -> Iterator[Served | None]:
    """Start the stack on free ports; yield a :class:`Served`, or None when it did not come up
    within ``start_timeout_s``. Stopped with SIGINT (as Ctrl-C stops ``make run``) on exit.
    ``endpoint``: another DynamoDB, whose table is deleted afterwards with ``client``;
    ``env``: extra variables for the stack (e.g. ``GAMIFICATION_RATE_LIMIT``)."""
    table = f"served-{uuid.uuid4().hex[:6]}"
    full = {**os.environ, "PORT": "0", "DYNAMODB_PORT": "0", "TABLE_NAME": table, **(env or {})}
    full.pop("AWS_ENDPOINT_URL_DYNAMODB", None)  # let the stack start its own, as make run does
    if endpoint:
        full["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.local.serve"], cwd=ROOT, env=full,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        found: dict[str, str] = {}
        watchdog = _kill_after(proc, start_timeout_s)
        while len(found) < len(_BANNER):
            line = proc.stdout.readline()
            if not line:
                break
            for name, pattern in _BANNER.items():
                if name not in found and (m := re.search(pattern, line)):
                    found[name] = m[1]
        watchdog.cancel()
        if len(found) < len(_BANNER):
            yield None
        else:
            # Keep reading its output, so that a full pipe never blocks the server.
            _drain(proc)
            yield Served(table=table, pid=proc.pid, **found)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        if endpoint and client is not None:  # the stack created its table on the external endpoint
            with contextlib.suppress(Exception):
                client.delete_table(TableName=table)


def _kill_after(proc: subprocess.Popen, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, proc.kill)
    timer.daemon = True
    timer.start()
    return timer


def _drain(proc: subprocess.Popen) -> None:
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()

