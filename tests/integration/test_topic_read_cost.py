"""Bounded read cost of topics and reviews (docs/topics.md "Read cost"): a user with 50
topics and 5,000 tasks, metered with botocore hooks (requests, items, capacity units)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import boto3

from bench.instruments import ddbmeter
from gamification.dal import keys
from gamification.dal.store import Store, marshal
from gamification.domain.rules import parse_rules
from gamification.usecases.engine import Engine
from gamification.usecases.topics import TopicUseCases
from tools.local import template

TOPICS, TASKS_PER_TOPIC = 50, 100
TODAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, tzinfo=timezone.utc)


def seed(client, table, tenant, user):
    """5,000 task items (review dates spread over 60 days around today) and 50 topic items."""
    items = []
    for t in range(TOPICS):
        topic = f"topic_{t:02d}"
        due: dict[str, int] = {}
        for k in range(TASKS_PER_TOPIC):
            day = (TODAY + timedelta(days=(t + k) % 60 - 30)).isoformat()
            due[day] = due.get(day, 0) + 1
            task = f"task-{k:03d}"
            items.append({**keys.task_key(tenant, user, topic, task), "topic": topic, "task_id": task,
                          "srs_stage": 1, "next_review_date": day, "version": 1,
                          "review_sk": keys.review_sort_key(day, topic, task)})  # fmt: skip
        items.append({**keys.topic_key(tenant, user, topic), "topic": topic, "xp": 10 * t, "due": due,
                      "tasks": TASKS_PER_TOPIC, "version": TASKS_PER_TOPIC})  # fmt: skip
    for i in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": marshal(it)}} for it in items[i : i + 25]]
        while batch:
            resp = client.batch_write_item(RequestItems={table: batch})
            batch = resp.get("UnprocessedItems", {}).get(table, [])


def test_topics_and_reviews_read_a_bounded_number_of_items(dynamo, tenant):
    rules = parse_rules({
        "version": 1, "levels": [{"level": 1, "name": "A", "xp": 0}], "actions": {},
        "topics": {f"topic_{t:02d}": {"title": f"Topic {t}", "base_xp": 10, "level_thresholds": [0, 100, 300]}
                   for t in range(TOPICS)},
    })  # fmt: skip
    client = boto3.client("dynamodb")
    seed(client, dynamo.table, tenant.id, "heavy")
    uc = TopicUseCases(Engine(rules, Store(client, dynamo.table), now=lambda: NOW))
    shape = ddbmeter.TableShape.from_definition(template.table_definition())
    rec = ddbmeter.Recorder(client, dynamo.client, dynamo.table, shape, ask_capacity=False)

    with rec:
        body = uc.topics(tenant.id, "heavy").body
    t = rec.totals()
    assert len(body["topics"]) == 50 and body["topics"][3]["tasks"] == 100
    assert body["topics"][0]["next_review_date"] == (TODAY - timedelta(days=30)).isoformat()
    assert (t.requests, t.items_read, t.operations) == (1, 50, {"BatchGetItem": 1})
    figures = {"topics": t.as_dict()}

    rec.reset()
    with rec:
        page = uc.reviews(tenant.id, "heavy", TODAY).body
    t = rec.totals()
    dates = [r["next_review_date"] for r in page["reviews"]]
    assert len(dates) == 100 and dates == sorted(dates) and dates[0] == (TODAY - timedelta(days=30)).isoformat()
    assert (t.requests, t.items_read, t.operations) == (1, 100, {"Query": 1})
    figures["reviews_due_by"] = t.as_dict()

    rec.reset()
    with rec:
        uc.reviews(tenant.id, "heavy", None, limit=500)  # today in the user's zone: + the profile
    t = rec.totals()
    assert (t.requests, t.items_read) == (2, 501) and t.operations == {"GetItem": 1, "Query": 1}
    figures["reviews_default_500"] = t.as_dict()
    print(figures)  # the figures quoted in docs/topics.md
