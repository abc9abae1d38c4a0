"""The integration examples (examples/integration/) run against the local stack and do what
they promise: one award per event however often it is retried, a 429 with Retry-After for
the second daily chat, and the limits that follow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "integration"
COMMANDS = {
    "python": [sys.executable, str(EXAMPLES / "backend.py")],
    "node": [shutil.which("node") or "node", str(EXAMPLES / "backend.mjs")],
}


@pytest.mark.parametrize("language", sorted(COMMANDS))
def test_the_integration_example_awards_once_and_handles_the_daily_limit(language, base_url, tenant):
    if language == "node" and not shutil.which("node"):
        pytest.skip("node is not on PATH")
    env = {**os.environ, "GAMIFICATION_URL": base_url, "GAMIFICATION_API_KEY": tenant.api_key}
    done = subprocess.run([*COMMANDS[language], f"{language}-user"], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    steps = {s["step"]: s for s in map(json.loads, done.stdout.splitlines())}
    assert steps["award"] == {"step": "award", "awarded": True, "xp": 20, "total_xp": 20, "level": 1, "replayed": False}
    assert steps["retry_same_event"]["replayed"] is True and steps["retry_same_event"]["total_xp"] == 20
    limited = steps["second_chat_today"]
    assert limited["awarded"] is False and limited["code"] == "action_limit_reached"
    assert 0 < limited["retry_after_s"] <= 86400
    assert steps["limits"]["daily_chat"] == {"count": 1, "remaining": 0}
    assert steps["limits"]["xp_remaining"] == 150 - 20
