"""Replay a Stack Exchange dump (by default the Cardano site's) through the engine and compare
with the site's own reputation: ``make replay-se`` or ``python -m examples.stackexchange.replay_se``.

The report names the site from the dump folder (``--site`` overrides it), and the default
tenant is ``stackexchange-<site>``. A malformed dump is refused before anything is written
(:class:`examples.stackexchange.convert.DumpError`: file, row, field).

Steps: convert the dump to activity events (:mod:`examples.stackexchange.convert`), replay
them with ``tools.ops.replay`` in backfill mode through ``Engine.award_xp``, batched per user
(Amazon DynamoDB Local started here by default, moto in process without Java, or ``--table``
with the usual AWS settings), read every user's total,
and write to ``--out`` (default ``build/replay/stackexchange``):

- ``activity.jsonl``: the events; ``users.csv``: ``user_id, computed, actual`` for every
  user of Users.xml (``computed`` is the starting 1 for users without events);
- ``summary.json`` and ``summary.md``: match rates (exact, within 2%, within 10%), the
  largest gaps with their likely cause, replay throughput (events per second), and a
  cross-check of the engine against the pure decision model;
- ``reputation.png``: computed vs actual reputation (needs the ``plot`` extra: matplotlib).
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import typer

from tools.local import lambdas
from tools.ops import replay as rp

lambdas.use_layer()

from gamification.domain.awards import DayUsage, decide_xp  # noqa: E402
from gamification.domain.errors import GamificationError  # noqa: E402
from gamification.domain.rules import Rules, load_rules  # noqa: E402

from . import convert as se  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
#: The dump, relative to the repository root (override with --dump or SE_DUMP).
DEFAULT_DUMP = Path("../shared/data/stackexchange/cardano")


def site_name(dump: Path) -> str:
    """The site a dump folder holds, from its name: ``.../cardano`` -> ``cardano``,
    ``.../cardano.stackexchange.com`` -> ``cardano``."""
    name = dump.resolve().name
    return name.removesuffix(".stackexchange.com").removesuffix(".com") or "site"


def site_title(site: str) -> str:
    """``cardano`` -> ``Cardano Stack Exchange``; ``stackoverflow`` stays as it is."""
    return site if "stack" in site.lower() else f"{site.replace('-', ' ').title()} Stack Exchange"


def simulate(rules: Rules, events: list[rp.Event]) -> dict[str, int]:
    """The pure decision model: the same events through :func:`decide_xp` with in-memory
    state (no DynamoDB). The engine's totals must equal these."""
    totals: dict[str, int] = {}
    days: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, Counter()])
    for ev in events:
        total = totals.get(ev.user, rules.xp.start)
        usage = days[(ev.user, ev.occurred_at.date().isoformat())]
        try:
            d = decide_xp(rules, ev.action or "", total, DayUsage(usage[0], usage[1]), 0, amount=ev.amount)
        except GamificationError:
            continue
        totals[ev.user] = total + d.amount
        usage[0] += d.cap_amount
        usage[1][ev.action] += 1
    return totals


def likely_cause(gap: int) -> str:
    """A known cause for ``gap = actual - computed`` (SOURCE.md "Known limits of the dump")."""
    if gap == 0:
        return "exact"
    if gap == 100:
        return "+100 association bonus (not in the dump)"
    if gap > 100 and gap - 100 <= 1000 and gap % 2 == 0:
        return "+100 association bonus and suggested edits (+2 each) or votes on deleted posts"
    if 0 < gap <= 1000 and gap % 2 == 0:
        return "suggested edits (+2 each) or votes on deleted posts (not in the dump)"
    if gap < 0 and gap % 2 == 1 and gap > -100:
        return "downvotes cast on answers (-1 each; voters are anonymous in the dump)"
    if gap < 0:
        return "votes later removed, or reputation lost on deleted posts (not in the dump)"
    return "mixed: association bonus, edits, cast downvotes, deleted posts"


def compare(computed: dict[str, int], actual: dict[str, int], active: set[str]) -> dict[str, Any]:
    """Match rates over ``active`` users (those with at least one event) and over all."""

    def rates(users: list[str]) -> dict[str, Any]:
        n = len(users) or 1
        exact = sum(computed[u] == actual[u] for u in users)
        w2 = sum(abs(computed[u] - actual[u]) <= 0.02 * actual[u] for u in users)
        w10 = sum(abs(computed[u] - actual[u]) <= 0.10 * actual[u] for u in users)
        bonus = sum(actual[u] - computed[u] in (0, 100) for u in users)
        return {
            "users": len(users),
            "exact": exact,
            "within_2pct": w2,
            "within_10pct": w10,
            "exact_or_plus_100": bonus,
            "exact_pct": round(100 * exact / n, 1),
            "within_2pct_pct": round(100 * w2 / n, 1),
            "within_10pct_pct": round(100 * w10 / n, 1),
            "exact_or_plus_100_pct": round(100 * bonus / n, 1),
        }

    act = sorted(u for u in actual if u in active)
    gaps = Counter(actual[u] - computed[u] for u in act)
    largest = sorted(act, key=lambda u: -abs(actual[u] - computed[u]))[:15]
    return {
        "active": rates(act),
        "all": rates(sorted(actual)),
        "gap_plus_100": gaps[100],
        "most_common_gaps": [{"gap": g, "users": n} for g, n in gaps.most_common(8)],
        "largest_gaps": [
            {
                "user_id": u,
                "computed": computed[u],
                "actual": actual[u],
                "gap": actual[u] - computed[u],
                "likely_cause": likely_cause(actual[u] - computed[u]),
            }
            for u in largest
        ],
    }


def plot(rows: list[tuple[str, int, int]], out: Path, title: str) -> bool:
    """Computed vs actual, log-log; False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    xs = [a for _, _, a in rows]
    ys = [c for _, c, _ in rows]
    fig, ax = plt.subplots(figsize=(6.5, 6))
    ax.scatter(xs, ys, s=8, alpha=0.5)
    top = max(xs + ys)
    ax.plot([1, top], [1, top], color="grey", lw=1, label="computed = actual")
    bonus_x = [101 * (top / 101) ** (i / 200) for i in range(201)]  # a curve on log axes
    ax.plot(bonus_x, [max(x - 100, 1) for x in bonus_x], color="orange", lw=1, ls="--",
            label="actual - 100 (association bonus)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("actual reputation (Users.xml)")
    ax.set_ylabel("computed by the engine")
    ax.set_title(f"{title}: replayed reputation")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return True


def write_markdown(summary: dict[str, Any], out: Path) -> None:
    m, r = summary["match"], summary["replay"]
    lines = [
        f"# {summary['site']} replay",
        "",
        f"Events: {r['events']} in {r['seconds']} s = **{r['events_per_second']} events/s** "
        f"({r['cpu_ms_per_event']} ms CPU per event in the client, {r['backend_cpu_ms_per_event']} ms in the "
        f"local DynamoDB; {summary['backend']}; {summary['mode']}; "
        f"machine load {summary['load']}); "
        f"outcomes {r['outcomes']}.",
        f"Engine vs pure decision model: {summary['engine_equals_model']}.",
        "",
        "| users | n | exact | within 2% | within 10% | exact or +100 (association bonus) |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("active", "all"):
        x = m[name]
        lines.append(
            f"| {name} | {x['users']} | {x['exact']} ({x['exact_pct']}%) | {x['within_2pct']} ({x['within_2pct_pct']}%) "
            f"| {x['within_10pct']} ({x['within_10pct_pct']}%) | {x['exact_or_plus_100']} ({x['exact_or_plus_100_pct']}%) |"
        )
    lines += ["", f"Users off by exactly +100 (association bonus): {m['gap_plus_100']}.", "", "Largest gaps:", ""]
    lines += ["| user | computed | actual | gap | likely cause |", "|---|---|---|---|---|"]
    lines += [
        f"| {g['user_id']} | {g['computed']} | {g['actual']} | {g['gap']:+d} | {g['likely_cause']} |"
        for g in m["largest_gaps"]
    ]
    lines += ["", "Converter: " + json.dumps(summary["converter"], sort_keys=True), ""]
    out.write_text("\n".join(lines))


cli = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@cli.command()
def main(
    dump: Path = typer.Option(None, help="Dump folder (default: $SE_DUMP or ../shared/data/stackexchange/cardano)"),
    out: Path = typer.Option(Path("build/replay/stackexchange"), help="Output folder"),
    rules_file: Path = typer.Option(HERE / "rules.yaml", "--rules", help="Rules file"),
    question_change: str = typer.Option(
        se.QUESTION_CHANGE.isoformat(), help="Question upvotes give +10 from this date, +5 before"
    ),
    table: str = typer.Option(None, help="Replay into this table (AWS settings) instead of a local DynamoDB"),
    tenant: str = typer.Option(None, help="Tenant id to write under (default: stackexchange-<site>)"),
    site: str = typer.Option(None, help="Site name for the report (default: from the dump folder's name)"),
    workers: int = typer.Option(16, min=1, max=64, help="Users replayed in parallel (each user's events in order)"),
    batch: bool = typer.Option(
        True, "--batch/--one-by-one", help="Write each user's consecutive events in one transaction (docs/replay.md)"
    ),
    progress: bool = typer.Option(True, help="Show a progress bar"),
) -> None:
    """Convert, replay, compare, and write users.csv, summary.{json,md} and reputation.png."""
    dump = dump or Path(os.environ.get("SE_DUMP") or ROOT / DEFAULT_DUMP)
    for name in ("Posts.xml", "Votes.xml", "Users.xml"):
        if not (dump / name).exists():
            raise typer.BadParameter(f"{dump / name} not found: give --dump or SE_DUMP (see SOURCE.md)")
    site = site or site_name(dump)
    tenant = tenant or f"stackexchange-{site}"
    rules = load_rules(rules_file)
    stats: Counter[str] = Counter()
    activity = out / "activity.jsonl"
    try:
        actual = se.load_reputation(dump / "Users.xml")
        n = se.write_jsonl(se.convert(dump, date.fromisoformat(question_change), stats), activity)
    except se.DumpError as exc:
        raise typer.BadParameter(f"{dump}: {exc}; nothing was written") from None
    typer.echo(f"converted {n} events from {dump}")
    events = rp.in_time_order(rp.with_keys(rp.read_activity(activity)))

    engine, server = rp.engine_for(rules, table, local=table is None, backfill=True)
    identity = {"input": rp.file_digest(activity), "tenant": tenant, "table": engine.store.table}
    journal = rp.Journal(out / "replay.journal.jsonl", identity, fresh=table is None)
    try:
        summary = rp.replay(engine, tenant, events, journal, progress=progress, workers=workers, batch=batch,
                            server=server)  # fmt: skip
        active = {ev.user for ev in events}
        computed_active = {u: engine.profile(tenant, u).body["total_xp"] for u in sorted(active)}
    finally:
        journal.close()
        if server:
            server.stop()
    rp.print_summary(summary)

    computed = {u: computed_active.get(u, rules.xp.start) for u in actual}
    rows = sorted(((u, computed[u], actual[u]) for u in actual), key=lambda r: int(r[0]))
    with (out / "users.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["user_id", "computed", "actual"])
        w.writerows(rows)
    model = simulate(rules, events)
    same = sum(model.get(u, rules.xp.start) == computed_active[u] for u in active)
    result = {
        "dump": str(dump),
        "site": site_title(site),
        "backend": engine.backend,
        "mode": ("batched per user" if batch else "one by one") + f", {workers} worker(s)",
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs",
        "replay": summary.as_dict(),
        "engine_equals_model": f"{same}/{len(active)} users identical",
        "converter": dict(sorted(stats.items())),
        "users_with_events_not_in_users_xml": sorted(active - set(actual)),
        "match": compare(computed, actual, active & set(actual)),
    }
    (out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result, out / "summary.md")
    plotted = plot(rows, out / "reputation.png", result["site"])
    m = result["match"]["active"]
    typer.echo(
        f"active users {m['users']}: exact {m['exact_pct']}%, within 2% {m['within_2pct_pct']}%, "
        f"within 10% {m['within_10pct_pct']}%; engine = model for {result['engine_equals_model']}"
    )
    typer.echo(f"wrote {out}/users.csv, summary.json, summary.md" + (", reputation.png" if plotted else
                                                                     " (no plot: pip install '.[plot]')"))


if __name__ == "__main__":
    cli()
