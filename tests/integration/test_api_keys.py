"""API-key lifecycle from the operator CLI (``python -m tools.ops.apikey``), run as an
operator runs it against the local stack's table: create, list (ids and tenants, never a
key or its hash), rotate (at once or with a grace period), revoke, per-tenant limits; a
revoked key is refused at once locally, and the template bounds the cloud's cache."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

from tests.conftest import Api
from tools.local import template
from gamification.dal import keys
from gamification.dal.store import Store
from gamification.ops import migrations
from gamification.usecases import apikeys, auth

ROOT = Path(__file__).resolve().parents[2]


def cli(dynamo, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "TABLE_NAME": dynamo.table}
    proc = subprocess.run(
        [sys.executable, "-m", "tools.ops.apikey", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert (proc.returncode == 0) == ok, proc.stderr
    return proc


def profile(base_url: str, key: str) -> int:
    return Api(base_url, key).get("/v1/users/someone").status_code


def test_create_list_rotate_revoke_from_the_cli(base_url, dynamo):
    tenant = f"ops-{uuid.uuid4().hex[:8]}"
    created = cli(dynamo, "create", "--tenant", tenant, "--name", "backend")
    key = created.stdout.strip()
    key_id = re.search(r"key id ([0-9a-f]{12})", created.stderr)[1]
    assert key.startswith("gk_") and profile(base_url, key) == 200

    listing = cli(dynamo, "list", "--tenant", tenant, "--json").stdout
    [entry] = [json.loads(line) for line in listing.splitlines()]
    assert entry["key_id"] == key_id and entry["tenant_id"] == tenant and entry["name"] == "backend"
    everything = cli(dynamo, "list").stdout + listing
    assert key not in everything and auth.hash_api_key(key) not in everything  # never the secret

    rotated = cli(dynamo, "rotate", key_id)
    new_key = rotated.stdout.strip()
    assert profile(base_url, key) == 401  # refused at once: the local stack has no cache
    assert profile(base_url, new_key) == 200
    new_id = auth.key_id(auth.hash_api_key(new_key))
    rows = {e["key_id"]: e for e in map(json.loads, cli(dynamo, "list", "--tenant", tenant, "--json").stdout.splitlines())}
    assert rows[key_id]["disabled"] and rows[key_id]["replaced_by"] == new_id and rows[new_id]["name"] == "backend"

    assert "revoked" in cli(dynamo, "revoke", new_id).stdout
    assert profile(base_url, new_key) == 401
    r = Api(base_url, new_key).get("/v1/users/someone")
    assert r.json()["error"]["code"] == "unauthenticated" and r.headers["WWW-Authenticate"] == "Bearer"
    assert "revoked" in cli(dynamo, "list", "--tenant", tenant).stdout


def test_revoke_by_the_key_itself_and_unknown_ids_fail_cleanly(base_url, dynamo):
    tenant = f"ops-{uuid.uuid4().hex[:8]}"
    key = cli(dynamo, "create", "--tenant", tenant).stdout.strip()
    cli(dynamo, "revoke", key)
    assert profile(base_url, key) == 401
    assert "no key with id" in cli(dynamo, "revoke", "0123456789ab", ok=False).stderr
    assert "no such key" in cli(dynamo, "rotate", "gk_not-a-key-at-all", ok=False).stderr
    assert "revoked" in cli(dynamo, "rotate", key, ok=False).stderr
    assert cli(dynamo, "create", "--tenant", "Bad#Tenant", ok=False).returncode == 2


def test_a_rotation_with_grace_keeps_the_old_key_until_it_expires(base_url, dynamo, monkeypatch):
    store = Store(dynamo.client, dynamo.table)
    tenant = f"ops-{uuid.uuid4().hex[:8]}"
    old, old_id = apikeys.create(store, tenant)
    new, _ = apikeys.rotate(store, old_id, grace_seconds=3600)
    assert profile(base_url, old) == 200 and profile(base_url, new) == 200
    assert "expires" in cli(dynamo, "list", "--tenant", tenant).stdout
    # An hour later the old key is refused (the authorizer compares not_after with now).
    item = store.get(keys.api_key_key(auth.hash_api_key(old)))
    store.put(keys.api_key_key(auth.hash_api_key(old)),
              {**{k: v for k, v in item.items() if k not in ("pk", "sk")}, "not_after": "2000-01-01T00:00:00.000000Z"})
    assert profile(base_url, old) == 401 and profile(base_url, new) == 200


def test_the_limit_command_sets_and_clears_a_tenants_own_limit(dynamo):
    tenant = f"ops-{uuid.uuid4().hex[:8]}"
    cli(dynamo, "create", "--tenant", tenant)
    assert "3 requests per 60 s" in cli(dynamo, "limit", "--tenant", tenant, "--requests", "3", "--window", "60").stdout
    store = Store(dynamo.client, dynamo.table)
    assert auth.tenant_limits(store, tenant) == {"rate_limit": 3, "rate_window_seconds": 60}
    cli(dynamo, "limit", "--tenant", tenant, "--clear")
    assert auth.tenant_limits(store, tenant) == {}
    assert "no tenant" in cli(dynamo, "limit", "--tenant", "nobody-here", "--requests", "1", ok=False).stderr
    assert cli(dynamo, "limit", "--tenant", tenant, "--requests", "1", "--window", "0", ok=False).returncode == 2


def test_keys_created_before_the_listing_existed_are_listed_after_the_migration(dynamo):
    table = f"keys-{uuid.uuid4().hex[:8]}"
    from tools.local import backend

    backend.create_table(dynamo.client, table, ttl=False)
    try:
        store = Store(dynamo.client, table)
        legacy = auth.new_api_key()
        store.put(keys.api_key_key(auth.hash_api_key(legacy)), {"tenant_id": "old-game", "name": "default"})
        assert apikeys.list_keys(store) == []
        migrations.migrate(store)
        [entry] = apikeys.list_keys(store)
        assert entry["tenant_id"] == "old-game" and entry["key_id"] == auth.key_id(auth.hash_api_key(legacy))
        apikeys.revoke(store, entry["key_id"])
        assert auth.tenant_for_key(store, legacy) is None
    finally:
        dynamo.client.delete_table(TableName=table)


def test_the_template_bounds_how_long_a_revoked_key_keeps_working():
    """The HTTP API caches an authorizer's answer per Authorization header for
    ReauthorizeEvery seconds: that is the revocation bound documented in docs/security.md."""
    api = next(r for r in template.load()["Resources"].values() if r["Type"] == "AWS::Serverless::HttpApi")
    authorizer = api["Properties"]["Auth"]["Authorizers"]["ApiKeyAuthorizer"]
    assert authorizer["Identity"]["ReauthorizeEvery"] == auth.REVOCATION_BOUND_SECONDS <= 60
    assert authorizer["Identity"]["Headers"] == ["Authorization"]  # keyed by the key itself
    doc = (ROOT / "docs" / "security.md").read_text()
    assert f"within {auth.REVOCATION_BOUND_SECONDS} seconds" in doc
