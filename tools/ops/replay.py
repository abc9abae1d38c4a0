"""Replay an activity file through the engine's own award path: ``python -m tools.ops.replay``.

An activity file is JSONL (one object a line) or CSV (a header row) with these fields:

| field          | required | what                                                        |
|----------------|----------|-------------------------------------------------------------|
| ``user``       | yes      | user id (``A-Z a-z 0-9 _ . : @ -``, 1-128)                   |
| ``action``     | one of   | an XP action of the rules file                              |
| ``reason``     | one of   | a coin reward of the rules file (``scope``/``tier`` optional)|
| ``occurred_at``| yes      | RFC 3339 with offset (``2021-04-27T15:06:44Z``)              |
| ``amount``     | no       | signed XP, for actions declared with ``min``/``max``         |
| ``key``        | no       | idempotency key; derived from the line when absent          |

Events are applied with ``Engine.award_xp`` / ``Engine.award_coins`` against ``TABLE_NAME``
(AWS settings as usual; ``--local`` starts a local DynamoDB instead: DynamoDB Local, or moto
without Java), each user's in time order (ties keep file order), users in parallel
(``--workers``) and, by default, each user's consecutive events decided on a write-behind
store and written in one conditional transaction (:func:`apply_batched`; ``--one-by-one``:
one transaction per event). Events older than the rules' ``max_event_age`` are refused
unless ``--backfill`` is given; in backfill mode each event still counts on its own day,
under that day's limits and caps.

Resuming: a journal (``--state``, JSONL) records each applied line's outcome as it goes; a
re-run with the same file, tenant and table continues after the last recorded line. The one
line that may have been written but not journaled (a crash between the two) is made safe by
its idempotency key, so an interrupted-and-resumed replay ends with the same totals as an
uninterrupted one. Batched, the lines of a batch are journaled once it is written; a crash
in between leaves them to their idempotency keys the same way.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import os
import subprocess
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from tools.local import lambdas

lambdas.use_layer()

from gamification.api.models import AwardCoinsRequest, AwardXpRequest  # noqa: E402
from gamification.dal import keys  # noqa: E402
from gamification.dal.batch_store import MAX_ITEMS, BatchStore, Unbatchable  # noqa: E402
from gamification.dal.store import Store, WriteConflict, dynamodb_client  # noqa: E402
from gamification.domain.periods import day_key, local_date  # noqa: E402
from gamification.domain.errors import GamificationError  # noqa: E402
from gamification.domain.rules import Rules, load_rules  # noqa: E402
from gamification.settings import environment  # noqa: E402
from gamification.usecases.engine import Engine  # noqa: E402

KEY_PREFIX = "replay-"


class ActivityError(ValueError):
    """A line of an activity file that cannot be read (the message names the line)."""


@dataclass(frozen=True)
class Event:
    """One activity line. ``line`` is 1-based in the file (the header of a CSV is line 1)."""

    line: int
    user: str
    occurred_at: datetime
    action: str | None = None
    reason: str | None = None
    amount: int | None = None
    scope: str | None = None
    tier: str | None = None
    key: str | None = None
    metadata: dict[str, Any] | None = None


def _parse_time(value: str, line: int) -> datetime:
    try:
        instant = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ActivityError(f"line {line}: occurred_at {value!r} is not RFC 3339") from None
    if instant.tzinfo is None:
        raise ActivityError(f"line {line}: occurred_at {value!r} needs a UTC offset (e.g. Z)")
    return instant


def _event(row: dict[str, Any], line: int) -> Event:
    def text(name: str) -> str | None:
        v = row.get(name)
        return None if v is None or str(v).strip() == "" else str(v).strip()

    user, action, reason, when = text("user"), text("action"), text("reason"), text("occurred_at")
    if not user or not when:
        raise ActivityError(f"line {line}: 'user' and 'occurred_at' are required")
    if (action is None) == (reason is None):
        raise ActivityError(f"line {line}: give exactly one of 'action' (XP) or 'reason' (coins)")
    amount = text("amount")
    try:
        amount_int = None if amount is None else int(amount)
    except ValueError:
        raise ActivityError(f"line {line}: amount {amount!r} is not an integer") from None
    meta = row.get("metadata")
    if isinstance(meta, str) and meta.strip():
        meta = json.loads(meta)
    return Event(
        line=line,
        user=user,
        occurred_at=_parse_time(when, line),
        action=action,
        reason=reason,
        amount=amount_int,
        scope=text("scope"),
        tier=text("tier"),
        key=text("key"),
        metadata=meta or None,
    )


def read_activity(path: Path) -> list[Event]:
    """Events of a ``.jsonl``/``.ndjson`` or ``.csv`` file, in file order.

    Raises :class:`ActivityError` naming the first bad line.
    """
    events: list[Event] = []
    with path.open(encoding="utf-8", newline="") as fh:
        if path.suffix.lower() == ".csv":
            for n, row in enumerate(csv.DictReader(fh), start=2):
                events.append(_event(row, n))
        else:
            for n, raw in enumerate(fh, start=1):
                if raw.strip():
                    try:
                        row = json.loads(raw)
                    except json.JSONDecodeError as exc:
                        raise ActivityError(f"line {n}: not JSON ({exc.msg})") from None
                    events.append(_event(row, n))
    return events


def with_keys(events: Iterable[Event]) -> list[Event]:
    """Give every event without a key a deterministic one: a hash of its content and of how
    many identical lines came before it (so two identical lines are two events, and a re-run
    derives the same keys even if unrelated lines were added or reordered)."""
    seen: Counter[str] = Counter()
    out = []
    for ev in events:
        if ev.key:
            out.append(ev)
            continue
        content = "\x1f".join(
            str(x)
            for x in (ev.user, ev.action, ev.reason, ev.occurred_at.isoformat(), ev.amount, ev.scope, ev.tier)
        )
        n = seen[content]
        seen[content] += 1
        digest = hashlib.sha256(f"{content}\x1f{n}".encode()).hexdigest()[:40]
        out.append(Event(**{**ev.__dict__, "key": KEY_PREFIX + digest}))
    return out


def in_time_order(events: Iterable[Event]) -> list[Event]:
    """Events by ``occurred_at``; equal instants keep file order."""
    return sorted(events, key=lambda e: (e.occurred_at, e.line))


# ---- applying -----------------------------------------------------------------------


@dataclass
class Summary:
    """Outcomes of a replay (cumulative over resumed runs).

    ``outcomes``: ``awarded`` / ``capped`` / ``floored`` / ``duplicate`` (idempotent replay of
    an already-applied line) / ``rejected:<error code>``; ``xp``: net XP applied;
    ``applied_now``/``seconds``: lines handled by this run and its wall time.
    """

    total: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    xp: int = 0
    coins: int = 0
    resumed_from: int = 0
    applied_now: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    backend_cpu_seconds: float | None = None  # of the DynamoDB Local process the run started, if any

    @property
    def events_per_second(self) -> float:
        return self.applied_now / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.total,
            "outcomes": dict(sorted(self.outcomes.items())),
            "net_xp": self.xp,
            "coins": self.coins,
            "resumed_from": self.resumed_from,
            "applied_this_run": self.applied_now,
            "seconds": round(self.seconds, 2),
            "events_per_second": round(self.events_per_second, 1),
            # CPU of this process per event: with moto in process, the whole cost
            # (a steadier figure than events/s on a shared machine).
            "cpu_ms_per_event": round(1000 * self.cpu_seconds / self.applied_now, 2) if self.applied_now else None,
            # CPU of the DynamoDB Local process started for the run (JVM threads included), per
            # event; with the figure above, what bounds a replay on a busy machine.
            "backend_cpu_ms_per_event": (
                round(1000 * self.backend_cpu_seconds / self.applied_now, 2)
                if self.applied_now and self.backend_cpu_seconds is not None
                else None
            ),
        }


class Journal:
    """The resume journal: a header naming the input, then one JSON line per applied event
    (``{"i": position, "o": outcome, "xp": n, "coins": n}``), flushed as it goes."""

    def __init__(self, path: Path, identity: dict[str, str], fresh: bool = False) -> None:
        self.path = path
        self.identity = identity
        self.done: list[dict[str, Any]] = []
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = path.with_name(path.name + ".lock").open("w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # one replay per journal at a time
        except BlockingIOError:
            self._lock.close()
            raise typer.BadParameter(f"another replay is using {path}") from None
        if path.exists() and not fresh:
            lines = path.read_text(encoding="utf-8").splitlines()
            header = json.loads(lines[0]) if lines else {}
            if header != identity:
                raise typer.BadParameter(
                    f"{path} belongs to another replay ({header}); give --fresh to start over or another --state"
                )
            for raw in lines[1:]:
                try:
                    self.done.append(json.loads(raw))
                except json.JSONDecodeError:
                    break  # a torn last line: that event is re-sent (its idempotency key makes it safe)
            self._fh = path.open("w", encoding="utf-8")  # rewrite without any torn line
            self._fh.write(json.dumps(identity) + "\n")
            for rec in self.done:
                self._fh.write(json.dumps(rec) + "\n")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = path.open("w", encoding="utf-8")
            self._fh.write(json.dumps(identity) + "\n")
        self._fh.flush()

    def record(self, rec: dict[str, Any]) -> None:
        self._fh.write(json.dumps(rec) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()
        self._lock.close()


def apply_event(engine: Engine, tenant: str, ev: Event) -> tuple[str, int, int]:
    """Apply one event; returns (outcome, xp applied, coins applied). Domain refusals
    (4xx: limits, caps, bad amounts, old events) are outcomes, not errors."""
    try:
        if ev.action is not None:
            out = engine.award_xp(
                tenant,
                ev.user,
                AwardXpRequest(action=ev.action, occurred_at=ev.occurred_at, amount=ev.amount, metadata=ev.metadata),
                ev.key,
            )
            body = out.body
            if out.replayed:
                return "duplicate", 0, 0
            outcome = "floored" if body.get("floored") else "capped" if body["capped"] else "awarded"
            return outcome, body["xp_awarded"], body["coins_awarded"]
        out = engine.award_coins(
            tenant,
            ev.user,
            AwardCoinsRequest(reason=ev.reason, scope=ev.scope, tier=ev.tier, occurred_at=ev.occurred_at),
            ev.key,
        )
        if out.replayed:
            return "duplicate", 0, 0
        return ("awarded" if out.body["awarded"] else "already_awarded"), 0, out.body["amount"]
    except GamificationError as exc:
        if exc.status >= 500:
            raise
        return f"rejected:{exc.code}", 0, 0


def apply_batched(
    engine: Engine, tenant: str, items: list[tuple[int, Event]], record: Callable[[int, tuple[str, int, int]], None]
) -> None:
    """Apply one user's events (in order) in batches: each batch is decided by the engine's
    own use cases on a :class:`gamification.dal.batch_store.BatchStore` and written as one
    transaction of at most 100 items, conditioned on everything it was decided from
    (docs/replay.md, "Batched backfill"). ``record(i, outcome)`` is called for each event
    once its batch is written.

    A batch DynamoDB refuses (the user's items changed meanwhile, or an idempotency record
    of a line exists: a resumed run) wrote nothing; its events are then applied one by one
    through ``engine``, exactly as without batching. An event a batch cannot hold (more
    items than a transaction takes, or a request the batch store does not write behind)
    is applied on its own the same way.
    """
    rules, pos = engine.rules, 0
    while pos < len(items):
        chunk = items[pos : pos + MAX_ITEMS]
        store = BatchStore(engine.store, presumed_absent={
            (k["pk"], k["sk"]) for k in (keys.idempotency_key(tenant, ev.key) for _, ev in chunk if ev.key)
        })  # fmt: skip
        user = chunk[0][1].user
        days = dict.fromkeys(day_key(local_date(ev.occurred_at, rules.zone)) for _, ev in chunk if ev.action)
        store.prefetch([keys.profile_key(tenant, user)] + [keys.usage_key(tenant, user, d) for d in days])
        batched = Engine(rules, store, now=engine.now, max_attempts=1, backfill=engine.backfill)
        done: list[tuple[int, tuple[str, int, int]]] = []
        for i, ev in chunk:
            point = store.checkpoint()
            try:
                result = apply_event(batched, tenant, ev)
            except (Unbatchable, GamificationError):  # Contention: decided on its own below
                store.rollback(point)
                break
            if store.size > MAX_ITEMS:
                store.rollback(point)
                break
            done.append((i, result))
        try:
            store.flush()
        except (WriteConflict, Unbatchable):
            done = [(i, apply_event(engine, tenant, ev)) for i, ev in chunk[: len(done)]]
        if not done:  # the next event alone fills no batch: apply it on its own
            i, ev = chunk[0]
            done = [(i, apply_event(engine, tenant, ev))]
        for i, result in done:
            record(i, result)
        pos += len(done)


def replay(
    engine: Engine,
    tenant: str,
    events: list[Event],
    journal: Journal,
    *,
    progress: bool = True,
    stop_after: int | None = None,
    workers: int = 1,
    batch: bool = False,
    server: Any = None,
) -> Summary:
    """Apply ``events`` (already keyed and ordered) that the journal does not list yet.

    ``workers`` > 1 applies users in parallel: each user's events stay in order on one
    worker (an award only reads and writes its own user's items, so the outcome is the
    same as in one sequence); worth it against real DynamoDB, where a worker mostly waits
    on the network, not on moto in process (one request at a time).
    ``batch`` writes each user's consecutive events in one transaction (:func:`apply_batched`).
    ``stop_after`` stops after that many lines of this run (simulates an interruption).
    ``server``: the local DynamoDB started for the run (:func:`local_backend`), whose CPU
    time the summary reports.
    """
    summary = Summary(total=len(events), resumed_from=len(journal.done))
    for rec in journal.done:
        summary.outcomes[rec["o"]] += 1
        summary.xp += rec.get("xp", 0)
        summary.coins += rec.get("coins", 0)
    done = {rec["i"] for rec in journal.done}
    todo = [(i, ev) for i, ev in enumerate(events) if i not in done]
    if stop_after is not None:
        todo = todo[:stop_after]
    lock = threading.Lock()
    failed = threading.Event()

    def record(i: int, result: tuple[str, int, int], advance: Callable[[], None]) -> None:
        outcome, xp, coins = result
        with lock:
            journal.record({"i": i, "o": outcome, "xp": xp, "coins": coins})
            summary.outcomes[outcome] += 1
            summary.xp += xp
            summary.coins += coins
            summary.applied_now += 1
            advance()

    def work(items: list[tuple[int, Event]], advance: Callable[[], None]) -> None:
        try:
            if batch:
                by_user: dict[str, list[tuple[int, Event]]] = {}
                for i, ev in items:
                    by_user.setdefault(ev.user, []).append((i, ev))
                for user_items in by_user.values():
                    if failed.is_set():
                        return
                    apply_batched(engine, tenant, user_items, lambda i, r: record(i, r, advance))
                return
            for i, ev in items:
                if failed.is_set():
                    return
                record(i, apply_event(engine, tenant, ev), advance)
        except BaseException:
            failed.set()
            raise

    started, cpu, backend_cpu = time.perf_counter(), time.process_time(), process_cpu_seconds(server)
    with _progress_bar(len(events), len(done), progress) as advance:
        if workers <= 1:
            work(todo, advance)
        else:
            shards: dict[int, list[tuple[int, Event]]] = {}
            for i, ev in todo:
                shards.setdefault(zlib.crc32(ev.user.encode()) % workers, []).append((i, ev))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for future in [pool.submit(work, shard, advance) for shard in shards.values()]:
                    future.result()
    summary.seconds = time.perf_counter() - started
    summary.cpu_seconds = time.process_time() - cpu
    if backend_cpu is not None:
        summary.backend_cpu_seconds = (process_cpu_seconds(server) or backend_cpu) - backend_cpu
    return summary


def process_cpu_seconds(server: Any) -> float | None:
    """CPU seconds (user + system, all threads) of ``server``'s process so far (psutil, a
    dependency of the dev tools' locust); None without a process of ours or without psutil."""
    pid = getattr(getattr(server, "process", None), "pid", None)
    if pid is None:
        return None
    try:
        import psutil
    except ImportError:
        return None
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:  # the process is gone
        return None
    return times.user + times.system


@contextmanager
def _progress_bar(total: int, done: int, show: bool) -> Iterator[Callable[[], None]]:
    """A rich progress bar; yields its ``advance()`` (a no-op when not shown)."""
    if not show:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task("replay", total=total, completed=done)
        yield lambda: bar.advance(task)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_state(path: Path, tenant: str) -> Path:
    return Path("build") / "replay" / "state" / f"{path.stem}-{tenant}.journal.jsonl"


def print_summary(summary: Summary) -> None:
    d = summary.as_dict()
    typer.echo(
        f"events {d['events']}  applied this run {d['applied_this_run']} in {d['seconds']}s "
        f"({d['events_per_second']} ev/s, {d['cpu_ms_per_event']} ms CPU/event"
        + (f" + {d['backend_cpu_ms_per_event']} ms in DynamoDB Local" if d["backend_cpu_ms_per_event"] is not None else "")
        + f")  resumed from {d['resumed_from']}"
    )
    for name, n in d["outcomes"].items():
        typer.echo(f"  {name:32s} {n}")
    typer.echo(f"  net XP applied {d['net_xp']}, coins {d['coins']}")


# ---- CLI ----------------------------------------------------------------------------

cli = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@cli.callback()
def _main() -> None:
    """Replay activity files through the engine (``run``)."""


def engine_for(rules: Rules, table: str | None, local: bool, backfill: bool) -> tuple[Engine, Any]:
    """An engine over ``table``, or with ``local`` over a scratch table of a local DynamoDB
    started here (:func:`local_backend`). The engine's ``backend`` attribute names it."""
    server, backend_name = None, f"table {table or environment().table_name}"
    if local:
        server, table, backend_name = local_backend()
    name = table or environment().table_name
    if not name:
        raise typer.BadParameter("give --table, set TABLE_NAME, or use --local")
    engine = Engine(rules, Store(dynamodb_client(), name), backfill=backfill)
    engine.backend = backend_name  # type: ignore[attr-defined]
    return engine, server


def local_backend() -> tuple[Any, str, str]:
    """Start a local DynamoDB for one replay; returns (server, table, its name).

    Amazon DynamoDB Local (``make dynamodb-local``) where Java is there, else moto in this
    process. The table is template.yaml's without its stream: nothing consumes it during a
    replay (no board projection runs; the data lives as long as the command), and DynamoDB
    Local spends most of a write on its stream (docs/replay.md, "Throughput").
    """
    from tools.local import backend, dynamodb_local, stack

    try:
        server = dynamodb_local.DynamoDBLocal(jvm_options=dynamodb_local.SHORT_RUN_JVM).start()
    except (dynamodb_local.Unavailable, OSError, subprocess.CalledProcessError) as exc:
        typer.echo(f"note: {exc}; replaying on moto in this process instead", err=True)
        info = stack.prepare(in_process=True, stream=False, indexes=False)
        return info["server"], info["table"], "moto (in process; no Java for DynamoDB Local)"
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = server.endpoint
    backend.use_local_credentials()
    info = stack.prepare(stream=False, indexes=False)
    return server, info["table"], f"{dynamodb_local.ENGINE} (local, table without stream)"


@cli.command()
def run(
    activity: Path = typer.Argument(..., exists=True, dir_okay=False, help="Activity file (.jsonl or .csv)"),
    rules_file: Path = typer.Option(None, "--rules", help="Rules file (default: $GAMIFICATION_RULES_FILE or bundled)"),
    tenant: str = typer.Option(..., help="Tenant (game) id to write under"),
    table: str = typer.Option(None, help="Table name (default: $TABLE_NAME)"),
    local: bool = typer.Option(False, help="Start a local DynamoDB (DynamoDB Local, or moto without Java; data lives as long as this process)"),
    backfill: bool = typer.Option(
        False, help="Accept events older than the rules' max_event_age (operator-only; never via the HTTP API)"
    ),
    state: Path = typer.Option(None, help="Resume journal (default: build/replay/state/<file>-<tenant>.journal.jsonl)"),
    fresh: bool = typer.Option(False, help="Ignore an existing journal and start from the first line"),
    stop_after: int = typer.Option(None, hidden=True, help="Stop after N lines (testing interruption)"),
    summary_json: Path = typer.Option(None, help="Also write the summary as JSON here"),
    workers: int = typer.Option(16, min=1, max=64, help="Apply users in parallel (each user's events stay in order)"),
    batch: bool = typer.Option(
        True, "--batch/--one-by-one", help="Write each user's consecutive events in one transaction (docs/replay.md)"
    ),
    progress: bool = typer.Option(True, help="Show a progress bar"),
) -> None:
    """Apply ACTIVITY in time order through the engine, resumably, then print a summary."""
    rules = load_rules(rules_file or environment().rules_file or None)
    try:
        events = in_time_order(with_keys(read_activity(activity)))
    except ActivityError as exc:
        raise typer.BadParameter(str(exc)) from None
    engine, server = engine_for(rules, table, local, backfill)
    identity = {"input": file_digest(activity), "tenant": tenant, "table": engine.store.table}
    journal = Journal(state or default_state(activity, tenant), identity, fresh=fresh or local)
    try:
        summary = replay(engine, tenant, events, journal, progress=progress, stop_after=stop_after, workers=workers,
                         batch=batch, server=server)  # fmt: skip
    finally:
        journal.close()
        if server:
            server.stop()
    print_summary(summary)
    if summary_json:
        summary_json.parent.mkdir(parents=True, exist_ok=True)
        summary_json.write_text(json.dumps(summary.as_dict(), indent=2) + "\n")


if __name__ == "__main__":
    cli()
