"""A test-only function (never deployed) that shows whether two concurrent invocations share
Powertools' router state: ``GET /probe/{name}`` for ``a`` waits, inside its route, until the
``b`` invocation has been resolved and answered, then reports the path of the event its
resolver sees. Files in ``$PROBE_DIR`` order the two."""

import os
import time
from pathlib import Path

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

app = APIGatewayHttpResolver()


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


@app.get("/probe/<name>")
def probe(name: str) -> dict:
    folder = Path(os.environ["PROBE_DIR"])
    if name == "a":
        (folder / "a-started").touch()
        _wait_for(folder / "b-answered")
    return {"name": name, "seen_path": app.current_event.path, "pid": os.getpid()}


def handler(event, context):
    folder = Path(os.environ["PROBE_DIR"])
    if event["rawPath"].endswith("/b"):
        _wait_for(folder / "a-started")
    result = app.resolve(event, context)
    if event["rawPath"].endswith("/b"):
        (folder / "b-answered").touch()
    return result
