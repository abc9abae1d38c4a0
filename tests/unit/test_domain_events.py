"""Domain events derived from stream records (pure): types, stable ids, notifications, the
webhook retry schedule, webhook URL checks."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from gamification.dal.egress import InvalidWebhookUrl
from gamification.domain.errors import ValidationFailed
from gamification.domain.events import MAX_ATTEMPTS, RETRY_DELAYS_S, derive, notification, retry_delay
from gamification.domain.rules import load_rules
from gamification.usecases.webhook_urls import check_webhook_url

RULES = load_rules(None)
PK = "T#game#U#alice"


def xp_item(xp, total, sk="XP#2026-11-21T12:00:00.000000Z#e1", **extra):
    return {"pk": PK, "sk": sk, "type": "xp", "xp": xp, "total_xp": total, "action": "paid_char_sold",
            "reason": "paid_char_sold", "occurred_at": "2026-11-21T12:00:00.000000Z", **extra}  # fmt: skip


def test_an_award_crossing_a_level_gives_xp_awarded_and_level_up():
    events = derive(RULES, "INSERT", xp_item(50, 100), "id1")
    assert [e["type"] for e in events] == ["xp.awarded", "level.up"]
    assert events[1]["data"]["level"] == 2 and events[1]["data"]["previous_level"] == 1
    assert all(e["tenant"] == "game" and e["user_id"] == "alice" for e in events)
    assert events[0]["occurred_at"] == "2026-11-21T12:00:00.000000Z"
    assert {"id", "type", "tenant", "user_id", "occurred_at", "data"} == set(events[0])
    assert [e["type"] for e in derive(RULES, "INSERT", xp_item(10, 60), "id1")] == ["xp.awarded"]


def test_ids_are_stable_per_item_and_type():
    once, again = derive(RULES, "INSERT", xp_item(50, 100), "id1"), derive(RULES, "INSERT", xp_item(50, 100), "id1")
    assert [e["id"] for e in once] == [e["id"] for e in again]
    assert len({e["id"] for e in once}) == 2
    other = derive(RULES, "INSERT", xp_item(50, 100, sk="XP#2026-11-21T12:00:00.000000Z#e2"), "id2")
    assert not {e["id"] for e in once} & {e["id"] for e in other}


def coin(amount, **extra):
    return {"pk": PK, "sk": "COIN#2026-11-21T12:00:00.000000Z#c1", "type": "coins", "amount": amount,
            "occurred_at": "2026-11-21T12:00:00.000000Z", **extra}  # fmt: skip


@pytest.mark.parametrize(
    "item, types",
    [
        (coin(10, reason="daily_login"), ["coins.awarded"]),
        (coin(-5, reason="shop", kind="spend", item="hat"), ["coins.spent"]),
        (coin(100, reason="leaderboard_prize", scope="xp.weekly.1", window_key="2026-W47"), ["coins.awarded", "prize.paid"]),
        (coin(-10, reason="fraud", kind="reversal", reverses="x"), ["entry.reversed"]),
        (coin(50, reason="streak_milestone:7"), ["streak.extended", "coins.awarded"]),
        ({"pk": PK, "sk": "ACH#first_character", "achievement": "first_character", "event_id": "e1",
          "unlocked_at": "2026-11-21T12:00:00.000000Z"}, ["achievement.unlocked"]),
        ({"pk": "T#game#LB#xp#weekly#2026-W47#FINAL", "sk": "FINAL", "finalised_at": "2026-11-23T00:05:00Z",
          "entries": [{"rank": 1, "user_id": "a", "score": 9}]}, ["leaderboard.finalised"]),
        ({"pk": PK, "sk": "PROFILE"}, []),
        ({"pk": PK, "sk": "DAY#2026-11-21"}, []),
        ({"pk": "APIKEY#x", "sk": "APIKEY"}, []),
    ],
)  # fmt: skip
def test_event_types_of_each_source(item, types):
    assert [e["type"] for e in derive(RULES, "INSERT", item, "eid")] == types


def test_only_inserts_make_events():
    assert derive(RULES, "MODIFY", xp_item(50, 100), "id") == [] and derive(RULES, "REMOVE", None, None) == []


def test_notifications_for_level_ups_unlocks_milestones_and_prizes_only():
    events = derive(RULES, "INSERT", xp_item(50, 100), "id1")
    assert notification(events[0]) is None
    note = notification(events[1])
    assert note["type"] == "level.up" and note["title"] == "Level up: Creator" and note["id"] == events[1]["id"]
    silent = derive(RULES, "INSERT", {"pk": PK, "sk": "ACH#x", "retroactive": True}, None)
    assert notification(silent[0]) is None


def test_the_retry_schedule_retries_within_60s_and_for_at_least_24h():
    assert retry_delay(1) <= 60
    assert sum(RETRY_DELAYS_S) >= 24 * 3600
    assert retry_delay(len(RETRY_DELAYS_S)) == RETRY_DELAYS_S[-1] and retry_delay(len(RETRY_DELAYS_S) + 1) is None
    assert MAX_ATTEMPTS == len(RETRY_DELAYS_S) + 1
    assert retry_delay(3, scale=0) == 0


@pytest.fixture
def dns(monkeypatch):
    """No network: IP literals resolve to themselves, ``localhost`` to loopback, names under
    ``example.com`` to a public address, ``internal.example.net`` to a private one; any other
    name does not resolve."""
    names = {"localhost": ["127.0.0.1", "::1"], "internal.example.net": ["10.1.2.3"]}

    def fake_getaddrinfo(host, port, *args, **kwargs):
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            addresses = ["93.184.215.14"] if host.endswith("example.com") else names.get(host)
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


@pytest.mark.parametrize(
    "url, loopback, ok",
    [
        ("https://hooks.example.com/x", False, True),
        ("http://hooks.example.com/x", False, False),
        ("http://127.0.0.1:8080/hook", True, True),
        ("http://localhost/hook", True, True),
        ("http://127.0.0.1:8080/hook", False, False),
        ("https://localhost/hook", False, False),
        ("http://example.com/x", True, False),
        ("ftp://example.com/x", True, False),
        ("https://user:pw@example.com/", False, False),
        ("https:///nohost", False, False),
        ("https://exa mple.com/", False, False),
        ("not a url", False, False),
    ],
)
def test_webhook_urls(dns, url, loopback, ok):
    if ok:
        assert check_webhook_url(url, allow_loopback=loopback) is None
    else:
        with pytest.raises(InvalidWebhookUrl) as info:
            check_webhook_url(url, allow_loopback=loopback)
        assert isinstance(info.value, ValidationFailed) and info.value.body()["error"]["code"] == "invalid_webhook_url"


@pytest.mark.parametrize(
    "url",
    ["https://169.254.169.254/", "https://10.0.0.1/h", "https://192.168.1.1/", "https://[::ffff:10.0.0.1]/",
     "https://0.0.0.0/", "https://[::]/", "https://[fe80::1]/", "https://nonexistent.invalid/h",
     "https://internal.example.net/h", "http://0.0.0.0:8080/h"],
)  # fmt: skip
@pytest.mark.parametrize("loopback", [False, True])
def test_the_check_refuses_private_link_local_unspecified_and_unresolvable_hosts(dns, url, loopback):
    """The one check of registration and delivery resolves the host: the shape alone passed
    these (the local stack's loopback allowance admits loopback only)."""
    with pytest.raises(InvalidWebhookUrl) as info:
        check_webhook_url(url, allow_loopback=loopback)
    assert info.value.status == 400 and info.value.body()["error"]["field"] == "url"


def test_loopback_literals_pass_only_with_the_local_allowance(dns):
    assert check_webhook_url("https://[::ffff:127.0.0.1]/h", allow_loopback=True) is None
    with pytest.raises(InvalidWebhookUrl, match="loopback"):
        check_webhook_url("https://[::ffff:127.0.0.1]/h", allow_loopback=False)
    with pytest.raises(InvalidWebhookUrl, match="loopback"):
        check_webhook_url("https://127.0.0.2/h", allow_loopback=False)


def test_an_award_after_missed_dates_gives_freeze_used_and_lost():
    gap = [{"type": "streak.freeze_used", "dates": ["2026-11-19"], "freezes_used": 1},
           {"type": "streak.lost", "date": "2026-11-20", "length": 6}]  # fmt: skip
    events = derive(RULES, "INSERT", xp_item(10, 60, streak_events=gap), "id1")
    assert [e["type"] for e in events] == ["streak.freeze_used", "streak.lost", "xp.awarded"]
    assert events[0]["data"] == {"dates": ["2026-11-19"], "freezes_used": 1}
    assert events[1]["data"] == {"date": "2026-11-20", "length": 6}
    assert len({e["id"] for e in events}) == 3


def test_an_unlock_marker_as_the_award_writes_it_gives_a_named_dated_event():
    marker = {"pk": PK, "sk": "ACH#first_character", "user_id": "alice", "achievement": "first_character",
              "unlocked_at": "2026-11-21T12:00:00.000000Z", "event_id": "e1"}  # fmt: skip
    [event] = derive(RULES, "INSERT", marker, None)
    assert event["occurred_at"] == "2026-11-21T12:00:00.000000Z"
    assert event["data"] == {"achievement": "first_character", "name": "First character", "category": "exploration"}
    assert notification(event)["title"] == "Achievement unlocked: First character"


def test_the_bonus_coins_an_award_carries_give_the_events_of_a_coin_entry_of_their_own():
    """An XP entry with its award's xp_bonus coins (one item): ``coins.awarded`` with the
    coin entry's id, and the ids of the events a separate bonus entry would have had."""
    from gamification.dal import keys
    from gamification.dal.memory import MemoryStore
    from gamification.dal.store import marshal
    from gamification.usecases.domain_events import DomainEvents

    carrying = {**xp_item(30, 100), "bonus_amount": 3, "bonus_balance": 13}
    separate = {"pk": PK, "sk": "COIN#2026-11-21T12:00:00.000000Z#e1", "type": "coins", "amount": 3, "reason": "xp_bonus",
                "balance": 13, "occurred_at": "2026-11-21T12:00:00.000000Z"}  # fmt: skip
    consumer = DomainEvents(RULES, MemoryStore(), now=lambda: None, publish=lambda e: None, enqueue=lambda e: None)
    events = consumer.events_of({"eventName": "INSERT", "dynamodb": {"NewImage": marshal(carrying)}})
    assert [e["type"] for e in events] == ["xp.awarded", "level.up", "coins.awarded"]
    expected = derive(RULES, "INSERT", xp_item(30, 100), keys.stored_entry_id(xp_item(30, 100)))
    expected += derive(RULES, "INSERT", separate, keys.stored_entry_id(separate))
    assert events == expected
    assert events[2]["data"] == {"entry_id": keys.entry_id(separate["sk"]), "reason": "xp_bonus", "amount": 3,
                                 "balance": 13, "kind": "award"}  # fmt: skip
