"""Stack Exchange dump (Posts.xml, Votes.xml) -> activity events for ``tools.ops.replay``.

Source of the rules: https://stackoverflow.com/help/whats-reputation ; schema of the dump:
https://meta.stackexchange.com/q/2677 . One event per reputation change the dump can show:

| dump row                                 | event(s)                                              |
|------------------------------------------|-------------------------------------------------------|
| vote 2 (up) on an answer / a question    | owner: ``answer_upvoted`` / ``question_upvoted`` (``question_upvoted_legacy``, +5, before ``question_change``) |
| vote 3 (down) on a post                  | owner: ``downvoted`` (the voter's -1 on answers: voters are anonymous) |
| vote 1 (accept) on an answer             | answerer ``answer_accepted``, asker ``accepted_an_answer``; nothing for a self-accept |
| vote 8 (bounty start, UserId, amount)    | offerer: ``bounty_offered`` with ``amount = -BountyAmount`` |
| vote 9 (bounty close on an answer, amount)| answer owner: ``bounty_won`` with ``amount = BountyAmount`` |

Skipped (counted in the stats): votes on posts missing from the dump (deleted), on posts
without an owner, and on community-wiki posts (votes dated on or after ``CommunityOwnedDate``).
Votes carry a date only: every event is at 00:00 UTC of its day, in vote ``Id`` order, with
the key ``se-vote-<Id>[-role]`` so a replay is resumable.

Bad input: a row with a missing or malformed field, or a file that is not well-formed XML,
raises :class:`DumpError` naming the file, the row (1-based, in file order) and the field;
:func:`write_jsonl` then leaves no output file behind (it writes a temporary file and renames
it only when the whole conversion succeeded).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

QUESTION, ANSWER = "1", "2"
UP, DOWN, ACCEPT, BOUNTY_START, BOUNTY_CLOSE = "2", "3", "1", "8", "9"
#: Stack Exchange raised question upvotes from +5 to +10 on 2019-11-13.
QUESTION_CHANGE = date(2019, 11, 13)


class DumpError(ValueError):
    """A dump file that cannot be converted; the message names file, row and field."""


class Row(dict[str, str]):
    """The attributes of one ``<row>``, with its file and 1-based row number for errors."""

    def __init__(self, attrs: dict[str, str], path: Path, n: int) -> None:
        super().__init__(attrs)
        self.path, self.n = path, n

    def fail(self, name: str, problem: str) -> DumpError:
        return DumpError(f"{self.path.name}: row {self.n}: {name} {problem}")

    def text(self, name: str, required: bool = True) -> str | None:
        value = self.get(name)
        if value is None or value.strip() == "":
            if required:
                raise self.fail(name, "is missing")
            return None
        return value.strip()

    def number(self, name: str, required: bool = True) -> str | None:
        """A non-negative integer attribute (ids, type ids, amounts), kept as its text."""
        value = self.text(name, required)
        if value is not None and not value.isdigit():
            raise self.fail(name, f"{value!r} is not a non-negative integer")
        return value

    def user(self, name: str, required: bool = True) -> str | None:
        """A user id, kept as its text: an integer, negative for the site's own accounts
        (``-1`` is the "Community" user, owner of some posts)."""
        value = self.text(name, required)
        if value is not None and not value.removeprefix("-").isdigit():
            raise self.fail(name, f"{value!r} is not an integer user id")
        return value

    def day(self, name: str, required: bool = True) -> date | None:
        value = self.text(name, required)
        if value is None:
            return None
        try:
            return datetime.fromisoformat(value).date()
        except ValueError:
            raise self.fail(name, f"{value!r} is not an ISO 8601 date-time") from None


def rows(path: Path) -> Iterator[Row]:
    """Every ``<row>`` of a dump file, streaming. Raises :class:`DumpError` for a missing file
    or XML that is not well-formed."""
    n = 0
    try:
        for _, elem in ET.iterparse(path, events=("end",)):
            if elem.tag == "row":
                n += 1
                yield Row(dict(elem.attrib), path, n)
                elem.clear()
    except ET.ParseError as exc:
        raise DumpError(f"{path.name}: not well-formed XML after row {n} ({exc})") from None
    except OSError as exc:
        raise DumpError(f"{path}: {exc.strerror}") from None


@dataclass(frozen=True)
class Post:
    id: str
    type: str
    owner: str | None
    parent: str | None
    wiki_since: date | None


def load_posts(path: Path) -> dict[str, Post]:
    """Post id -> :class:`Post`. Raises :class:`DumpError` for a malformed row."""
    out = {}
    for r in rows(path):
        pid = r.number("Id")
        out[pid] = Post(
            pid, r.number("PostTypeId"), r.user("OwnerUserId", False), r.number("ParentId", False),
            r.day("CommunityOwnedDate", False),
        )  # fmt: skip
    return out


def load_reputation(path: Path) -> dict[str, int]:
    """User id -> the site's own reputation at the dump's cut (it may be negative on
    some sites' early rows, so any integer is accepted). Raises :class:`DumpError`."""
    out = {}
    for r in rows(path):
        uid, value = r.user("Id"), r.text("Reputation")
        try:
            out[uid] = int(value)
        except ValueError:
            raise r.fail("Reputation", f"{value!r} is not an integer") from None
    return out


def _vote(r: Row) -> tuple[int, Row]:
    """Validate the fields a vote row needs (its sort key first)."""
    vid = int(r.number("Id"))
    r.number("VoteTypeId")
    r.number("PostId", r.get("VoteTypeId") != BOUNTY_START)
    r.day("CreationDate")
    r.user("UserId", False)
    r.number("BountyAmount", False)
    return vid, r


def convert(
    dump: Path, question_change: date = QUESTION_CHANGE, stats: Counter[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Activity events (dicts for JSONL) from ``dump``/Posts.xml and Votes.xml, in vote order.

    Every row is validated before the first event is yielded. Raises :class:`DumpError`."""
    stats = stats if stats is not None else Counter()
    posts = load_posts(dump / "Posts.xml")
    votes = [v for _, v in sorted((_vote(r) for r in rows(dump / "Votes.xml")), key=lambda x: x[0])]
    for v in votes:
        kind = v["VoteTypeId"]
        if kind not in (UP, DOWN, ACCEPT, BOUNTY_START, BOUNTY_CLOSE):
            continue
        day = v.day("CreationDate")
        when = datetime(day.year, day.month, day.day, tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")
        key = f"se-vote-{v['Id']}"

        def event(user: str, action: str, role: str = "", amount: int | None = None) -> dict[str, Any]:
            ev: dict[str, Any] = {"user": user, "action": action, "occurred_at": when, "key": key + role}
            if amount is not None:
                ev["amount"] = amount
            stats[f"event:{action}"] += 1
            return ev

        if kind == BOUNTY_START:
            if v.get("UserId") and v.get("BountyAmount"):
                yield event(v["UserId"], "bounty_offered", amount=-int(v["BountyAmount"]))
            continue
        post = posts.get(v["PostId"])
        if post is None:
            stats["skipped:post_not_in_dump"] += 1
            continue
        if not post.owner:
            stats["skipped:post_without_owner"] += 1
            continue
        if post.wiki_since is not None and day >= post.wiki_since and kind in (UP, DOWN):
            stats["skipped:community_wiki"] += 1
            continue
        if kind == BOUNTY_CLOSE:
            if v.get("BountyAmount") and post.type == ANSWER:
                yield event(post.owner, "bounty_won", amount=int(v["BountyAmount"]))
            else:
                stats["skipped:bounty_not_awarded"] += 1
            continue
        if kind == UP:
            if post.type == ANSWER:
                yield event(post.owner, "answer_upvoted")
            elif post.type == QUESTION:
                yield event(post.owner, "question_upvoted" if day >= question_change else "question_upvoted_legacy")
            else:
                stats["skipped:vote_on_other_post_type"] += 1
            continue
        if kind == DOWN:
            if post.type in (QUESTION, ANSWER):
                yield event(post.owner, "downvoted")
            else:
                stats["skipped:vote_on_other_post_type"] += 1
            continue
        # ACCEPT: on the answer; the asker is the owner of its question.
        question = posts.get(post.parent or "")
        asker = question.owner if question else None
        if asker == post.owner:
            stats["skipped:self_accept"] += 1
            continue
        yield event(post.owner, "answer_accepted", "-answerer")
        if asker:
            yield event(asker, "accepted_an_answer", "-asker")


def write_jsonl(events: Iterator[dict[str, Any]], out: Path) -> int:
    """Write ``events`` as JSON lines to ``out``; returns how many. All or nothing: when the
    iterator raises (a :class:`DumpError`), ``out`` is left as it was before the call."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    n = 0
    try:
        with partial.open("w", encoding="utf-8") as fh:
            for ev in events:
                fh.write(json.dumps(ev, separators=(",", ":")) + "\n")
                n += 1
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return n
