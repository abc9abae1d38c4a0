"""The Stack Exchange example on a tiny hand-made dump: the converter's mapping of votes to
events, and the documented rules replayed through the engine (cap on the net of the day,
exempt accepts and bounties, floor 1, start 1)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pytest
from gamification.dal.store import Store
from gamification.domain.rules import load_rules
from gamification.usecases.engine import Engine

from examples.stackexchange import convert as se
from examples.stackexchange.replay_se import HERE, compare, likely_cause, simulate
from tools.ops import replay as rp

POSTS = """<?xml version="1.0" encoding="utf-8"?>
<posts>
  <row Id="1" PostTypeId="1" AcceptedAnswerId="2" CreationDate="2021-04-27T15:06:44.553" OwnerUserId="10" />
  <row Id="2" PostTypeId="2" ParentId="1" CreationDate="2021-04-27T16:00:00.000" OwnerUserId="20" />
  <row Id="3" PostTypeId="2" ParentId="1" CreationDate="2021-04-27T17:00:00.000" OwnerUserId="10" />
  <row Id="4" PostTypeId="1" CreationDate="2019-01-01T00:00:00.000" OwnerUserId="30" />
  <row Id="5" PostTypeId="2" ParentId="4" CreationDate="2021-04-28T00:00:00.000" OwnerUserId="20" CommunityOwnedDate="2021-05-01T00:00:00.000" />
  <row Id="6" PostTypeId="1" CreationDate="2021-04-28T00:00:00.000" />
</posts>
"""


def votes(rows):
    body = "\n".join(f'  <row Id="{i}" PostId="{p}" VoteTypeId="{t}" CreationDate="{d}T00:00:00.000" {extra}/>'
                     for i, (p, t, d, extra) in enumerate(rows, start=1))
    return f'<?xml version="1.0" encoding="utf-8"?>\n<votes>\n{body}\n</votes>\n'


@pytest.fixture
def dump(tmp_path):
    rows = [
        ("1", "2", "2021-05-01", ""),  # question upvote -> 10: +10
        ("4", "2", "2019-06-01", ""),  # question upvote before 2019-11-13 -> 30: +5
        ("2", "3", "2021-05-01", ""),  # downvote -> 20: -2
        ("2", "1", "2021-05-02", ""),  # accept -> 20: +15, 10: +2
        ("3", "1", "2021-05-02", ""),  # self-accept (10 answers own question) -> nothing
        ("5", "2", "2021-05-02", ""),  # community wiki since 05-01 -> nothing
        ("99", "2", "2021-05-02", ""),  # deleted post -> nothing
        ("6", "2", "2021-05-02", ""),  # no owner -> nothing
        ("1", "8", "2021-05-03", 'UserId="10" BountyAmount="50" '),  # 10: -50
        ("2", "9", "2021-05-10", 'BountyAmount="50" '),  # 20: +50
    ]
    (tmp_path / "Posts.xml").write_text(POSTS)
    (tmp_path / "Votes.xml").write_text(votes(rows))
    (tmp_path / "Users.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<users>\n'
        '  <row Id="10" Reputation="1" />\n  <row Id="20" Reputation="164" />\n  <row Id="30" Reputation="6" />\n'
        "</users>\n"
    )
    return tmp_path


def test_converter_maps_votes_to_the_documented_events(dump):
    stats = Counter()
    events = list(se.convert(dump, stats=stats))
    assert [(e["user"], e["action"], e.get("amount")) for e in events] == [
        ("10", "question_upvoted", None),
        ("30", "question_upvoted_legacy", None),
        ("20", "downvoted", None),
        ("20", "answer_accepted", None),
        ("10", "accepted_an_answer", None),
        ("10", "bounty_offered", -50),
        ("20", "bounty_won", 50),
    ]
    assert events[0]["occurred_at"] == "2021-05-01T00:00:00Z" and events[3]["key"] == "se-vote-4-answerer"
    assert stats["skipped:self_accept"] == stats["skipped:community_wiki"] == 1
    assert stats["skipped:post_not_in_dump"] == stats["skipped:post_without_owner"] == 1


@pytest.mark.parametrize("batch", [False, True], ids=["one-by-one", "batched"])
def test_se_rules_through_the_engine(dynamo, dump, tmp_path, batch):
    rules = load_rules(HERE / "rules.yaml")
    path = tmp_path / "act.jsonl"
    se.write_jsonl(se.convert(dump), path)
    # A busy day: 25 answer upvotes (cap 200 on the net) with 3 downvotes.
    extra = [{"user": "20", "action": "answer_upvoted", "occurred_at": "2021-06-01T00:00:00Z"}] * 25
    extra[5:5] = [{"user": "20", "action": "downvoted", "occurred_at": "2021-06-01T00:00:00Z"}] * 3
    with path.open("a") as fh:
        for row in extra:
            fh.write(__import__("json").dumps(row) + "\n")
    events = rp.in_time_order(rp.with_keys(rp.read_activity(path)))
    now = datetime(2026, 11, 21, tzinfo=timezone.utc)
    engine = Engine(rules, Store(dynamo.client, dynamo.table), now=lambda: now, backfill=True)
    tenant = f"se-test-{batch}"
    journal = rp.Journal(tmp_path / "j", {"input": "se", "tenant": tenant, "table": dynamo.table})
    rp.replay(engine, tenant, events, journal, progress=False, batch=batch)
    journal.close()
    total = {u: engine.profile(tenant, u).body["total_xp"] for u in ("10", "20", "30")}
    # 10: 1 +10 +2 -50 -> floored at 1.
    # 20: 1, downvote floored (0), +15 accept, +50 bounty = 66; June 1: 5 ups (+50), 3 downs
    # (-6, freeing room), then ups until the day's net reaches 200 -> +200 = 266.
    # 30: 1 + 5 (question upvote before 2019-11-13).
    assert total == {"10": 1, "20": 266, "30": 6}
    assert simulate(rules, events) == total
    m = compare(total, {"10": 1, "20": 366, "30": 6}, {"10", "20", "30"})
    assert m["active"]["exact"] == 2 and m["gap_plus_100"] == 1
    assert likely_cause(100).startswith("+100 association bonus")


@pytest.mark.parametrize(
    "file, text, where",
    [
        ("Votes.xml", votes([("1", "2", "2021-05-01", ""), ("2", "2", "yesterday", "")]), "Votes.xml: row 2: CreationDate"),
        ("Votes.xml", votes([("1", "x", "2021-05-01", "")]), "Votes.xml: row 1: VoteTypeId"),
        ("Votes.xml", votes([("", "2", "2021-05-01", "")]), "Votes.xml: row 1: PostId"),
        ("Posts.xml", POSTS.replace('PostTypeId="2" ParentId="1" CreationDate="2021-04-27T16', 'ParentId="1" CreationDate="2021-04-27T16'),
         "Posts.xml: row 2: PostTypeId"),
        ("Posts.xml", POSTS.replace("</posts>", ""), "Posts.xml: not well-formed XML"),
    ],
)
def test_converter_refuses_a_malformed_dump_naming_file_row_and_field(dump, tmp_path, file, text, where):
    (dump / file).write_text(text)
    out = tmp_path / "out" / "activity.jsonl"
    with pytest.raises(se.DumpError, match=where.replace(".", r"\.")):
        se.write_jsonl(se.convert(dump), out)
    assert not out.exists() and not list(out.parent.iterdir())


def test_a_failed_conversion_keeps_the_previous_output(dump, tmp_path):
    out = tmp_path / "activity.jsonl"
    assert se.write_jsonl(se.convert(dump), out) == 7
    before = out.read_text()
    (dump / "Votes.xml").write_text(votes([("1", "2", "not-a-date", "")]))
    with pytest.raises(se.DumpError):
        se.write_jsonl(se.convert(dump), out)
    assert out.read_text() == before


def test_replay_se_refuses_a_malformed_dump_before_writing_and_names_the_site(dump, tmp_path):
    import subprocess
    import sys

    from examples.stackexchange.replay_se import ROOT, site_name, site_title

    site = tmp_path / "bitcoin.stackexchange.com"
    site.mkdir()
    for name in ("Posts.xml", "Votes.xml"):
        (site / name).write_text((dump / name).read_text())
    assert (site_name(site), site_title(site_name(site))) == ("bitcoin", "Bitcoin Stack Exchange")
    (site / "Users.xml").write_text('<users><row Id="10" Reputation="lots" /></users>')
    out = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "examples.stackexchange.replay_se", "--dump", str(site), "--out", str(out), "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    message = " ".join(proc.stderr.split())
    assert "Users.xml: row 1: Reputation" in message and "nothing was written" in message
    assert not (out / "activity.jsonl").exists()


def test_negative_user_ids_are_the_sites_own_accounts(dump):
    """Real dumps hold user -1 ("Community") in Users.xml and as the owner of some posts."""
    (dump / "Users.xml").write_text('<users><row Id="-1" Reputation="1" /><row Id="10" Reputation="5" /></users>')
    (dump / "Posts.xml").write_text(POSTS.replace('<row Id="6" PostTypeId="1" CreationDate="2021-04-28T00:00:00.000" />',
                                                  '<row Id="6" PostTypeId="1" CreationDate="2021-04-28T00:00:00.000" OwnerUserId="-1" />'))
    assert se.load_reputation(dump / "Users.xml") == {"-1": 1, "10": 5}
    assert ("-1", "question_upvoted") in [(e["user"], e["action"]) for e in se.convert(dump)]
    (dump / "Users.xml").write_text('<users><row Id="--1" Reputation="1" /></users>')
    with pytest.raises(se.DumpError, match="Users.xml: row 1: Id"):
        se.load_reputation(dump / "Users.xml")
