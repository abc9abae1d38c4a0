"""How an app's backend calls the engine (Python, requests): award XP once per user action
with an Idempotency-Key, retry on 503 and network errors with the same key, read the day's
limits, and handle 429 (a daily limit or cap) with its Retry-After.

Run against `make run`:  python examples/integration/backend.py [user_id]
Environment: GAMIFICATION_URL (http://127.0.0.1:3000), GAMIFICATION_API_KEY (local-dev-key).
Prints one JSON line per step. API reference: /docs on the local server, docs/openapi.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid

import requests

BASE = os.environ.get("GAMIFICATION_URL", "http://127.0.0.1:3000").rstrip("/")
KEY = os.environ.get("GAMIFICATION_API_KEY", "local-dev-key")
session = requests.Session()
session.headers["Authorization"] = f"Bearer {KEY}"


def call(method: str, path: str, *, body: dict | None = None, idempotency_key: str | None = None,
         attempts: int = 5) -> requests.Response:
    """One API call. Retries 503 (contention) and network errors with backoff; a write keeps
    the same Idempotency-Key on every attempt, so it takes effect once however often it is sent."""
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    for attempt in range(attempts):
        try:
            response = session.request(method, BASE + path, json=body, headers=headers, timeout=10)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == attempts - 1:
                raise
        else:
            if response.status_code != 503 or attempt == attempts - 1:
                return response
        time.sleep(min(2.0, 0.1 * 2**attempt))
    raise AssertionError("unreachable")


def award_xp(user_id: str, action: str, event_id: str) -> dict:
    """Award XP for one user action. ``event_id``: your own id of the action (e.g. the
    message id), used as the Idempotency-Key. 429: the daily limit or cap is reached."""
    response = call("POST", f"/v1/users/{user_id}/xp", body={"action": action}, idempotency_key=f"xp:{event_id}")
    if response.status_code == 429:
        error = response.json()["error"]
        return {"awarded": False, "code": error["code"], "retry_after_s": int(response.headers.get("Retry-After", 0))}
    response.raise_for_status()  # 400: a bug in our request (unknown action, bad id)
    body = response.json()
    return {"awarded": True, "xp": body["xp_awarded"], "total_xp": body["total_xp"], "level": body["level"],
            "replayed": response.headers.get("Idempotent-Replayed") == "true"}


def main(argv: list[str]) -> int:
    user = argv[1] if len(argv) > 1 else f"user-{uuid.uuid4().hex[:8]}"
    event = uuid.uuid4().hex
    steps = {
        "award": award_xp(user, "daily_chat", event),
        "retry_same_event": award_xp(user, "daily_chat", event),  # a retry: replayed, no double award
        "second_chat_today": award_xp(user, "daily_chat", uuid.uuid4().hex),  # daily_limit 1: 429
    }
    limits = call("GET", f"/v1/users/{user}/limits")
    limits.raise_for_status()
    chat = limits.json()["actions"]["daily_chat"]
    steps["limits"] = {"daily_chat": {"count": chat["count"], "remaining": chat["remaining"]},
                       "xp_remaining": limits.json()["xp_remaining"]}
    for name, result in steps.items():
        print(json.dumps({"step": name, **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
