"""The plot of ``make load``: p50, p95 and p99 latency (ms) against concurrent users, one panel
per route, from a ``bench/load.json`` result (needs the ``plot`` extra: matplotlib).

``python -m bench.load.plot [bench/load.json] [docs/load.png]`` redraws it from a saved result.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
QUANTILES = (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"))


def plot(result: dict[str, Any], path: Path) -> None:
    """Write the latency-against-concurrency figure of ``result`` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted(result["runs"], key=lambda r: r["users"])
    # Routes in the locustfile's order: the run that answered on most routes first.
    by_size = sorted(runs, key=lambda r: -len(r["routes"]))
    names = list(dict.fromkeys(name for run in by_size for name in run["routes"])) + ["all routes"]
    cols = 4
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False, sharex=True)
    users = [run["users"] for run in runs]
    for ax, name in zip(axes.flat, names, strict=False):
        for field, label in QUANTILES:
            ys = [(run["total"] if name == "all routes" else run["routes"].get(name, {})).get(field) for run in runs]
            ax.plot(users, [y if y is not None else math.nan for y in ys], marker="o", label=label)
        title = name.replace(" /v1", "\n/v1")
        if name == "all routes":
            rates = " / ".join(f"{run['total']['requests_per_s']:g}" for run in runs)
            title += f"\nrequests/s: {rates}"
        ax.set_title(title, fontsize=9)
        ax.set_xscale("log", base=2)
        ax.set_xticks(users, [str(u) for u in users])
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=8)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("latency (ms)", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("concurrent users", fontsize=9)
    axes.flat[0].legend(fontsize=8)
    date = result.get("generated_at", "")[:10]
    machine = result.get("machine", {})
    fig.suptitle(
        f"make load: latency against concurrency ({result.get('engine', '')}; "
        f"{machine.get('cpus')} CPUs; {date})",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "load.json"
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs" / "load.png"
    plot(json.loads(src.read_text()), dst)
    print(f"wrote {dst}")
