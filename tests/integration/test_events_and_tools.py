"""The real-shaped events in events/ run through the template's functions, and the
Docker-free invoker runs any function of template.yaml."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tools.local import template

from ..conftest import EVENTS, ROOT, load_event


def test_every_function_has_an_event_file():
    names = {p.stem for p in EVENTS.glob("*.json")}
    for logical_id, fn in template.functions("t").items():
        assert fn.code_dir.name in names, f"events/{fn.code_dir.name}.json missing for {logical_id}"


@pytest.mark.parametrize(
    "function, event, status",
    [
        ("AwardXpFunction", "award_xp.json", 200),
        ("AwardCoinsFunction", "award_coins.json", 200),
        ("GetLimitsFunction", "get_limits.json", 200),
        ("GetLevelsFunction", "get_levels.json", 200),
        ("GetProfileFunction", "get_profile.json", 200),
        # topics and spaced repetition
        ("TopicAttemptFunction", "topic_attempt.json", 200),
        ("GetTopicsFunction", "get_topics.json", 200),
        ("GetReviewsFunction", "get_reviews.json", 200),
        # Ledger, spending, reversals, erasure, dashboard, notifications, webhooks
        ("GetLedgerFunction", "get_ledger.json", 200),
        ("SpendCoinsFunction", "spend_coins.json", 409),  # a new user has no coins
        ("ReverseEntryFunction", "reverse_entry.json", 404),  # no such entry yet
        ("DeleteUserFunction", "delete_user.json", 200),
        ("GetDashboardFunction", "get_dashboard.json", 200),
        ("NotificationsFunction", "notifications.json", 200),
        ("WebhooksFunction", "webhooks.json", 200),
    ],
)
def test_events_through_the_handlers(local_api, environments, tenant, function, event, status):
    # Registering a webhook resolves its host (docs/security.md); tests have no network.
    names = {"example.com": ["93.184.215.14"]} if function == "WebhooksFunction" else None
    environments.call("tests.environment_hooks:resolve_names", names, functions=[function])
    try:
        result = local_api.invoke(function, load_event(event, tenant.id))
    finally:
        environments.call("tests.environment_hooks:resolve_names", None, functions=[function])
    assert result["statusCode"] == status, result
    assert json.loads(result["body"])


def test_stream_and_queue_events_through_their_handlers(local_api):
    assert local_api.invoke("DomainEventsFunction", load_event("domain_events.json")) == {"batchItemFailures": []}
    # A delivery to a webhook that does not exist is done (dropped), not retried.
    assert local_api.invoke("DeliverWebhooksFunction", load_event("deliver_webhooks.json")) == {"batchItemFailures": []}


def test_handler_without_a_tenant_is_401(local_api):
    event = load_event("get_profile.json", "")
    result = local_api.invoke("GetProfileFunction", event)
    assert result["statusCode"] == 401


def test_authorizer_event(local_api, tenant):
    event = load_event("authorizer.json")
    event["headers"]["authorization"] = f"Bearer {tenant.api_key}"
    assert local_api.invoke("AuthorizerFunction", event) == {"isAuthorized": True, "context": {"tenant_id": tenant.id}}
    event["headers"]["authorization"] = "Bearer unknown-key-0000"
    assert local_api.invoke("AuthorizerFunction", event)["context"]["tenant_id"] == ""


def test_invoker_runs_a_function_with_an_event_file(tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "TABLE_NAME"))}
    out = subprocess.run(
        [sys.executable, "-m", "tools.local.invoke", "AwardXpFunction", "events/award_xp.json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["statusCode"] == 200 and json.loads(result["body"])["xp_awarded"] == 30
