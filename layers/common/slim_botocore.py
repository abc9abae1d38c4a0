"""Keep only the AWS services the functions call in a built layer's botocore data.

Usage: ``python slim_botocore.py LAYER_PYTHON_DIR SERVICE [SERVICE ...]``
(layers/common/Makefile, ``layer-slim``; the services are its ``BOTOCORE_SERVICES``).

Why: botocore ships the models of some 450 services (28 MB). Creating any client lists every
service folder and parses the 1.2 MB ``endpoints.json``; in a cold start that is about a fifth
of a route's first request (docs/benchmarks.md, "Cold start and warm time"). Kept: the folders
of ``SERVICE ...``, the shared files (``_retry.json``, ``partitions.json``,
``sdk-default-configuration.json``) and, in ``endpoints.json``, every partition and region
with only the kept services' entries (keyed by each model's ``endpointPrefix``). A client of
a service left out raises botocore's ``UnknownServiceError``; tests/unit/test_packaging.py
checks that every service the code names is kept and that the kept clients resolve the same
endpoints as the full data.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path


def endpoint_prefixes(data: Path, service: str) -> set[str]:
    """The ``endpointPrefix`` of every API version of ``service`` in botocore's ``data``."""
    prefixes = set()
    for model in (data / service).glob("*/service-2.json*"):
        opener = gzip.open if model.suffix == ".gz" else open
        with opener(model, "rt", encoding="utf-8") as f:
            prefixes.add(json.load(f)["metadata"]["endpointPrefix"])
    return prefixes


def slim(layer_python: Path, services: list[str]) -> None:
    """Remove from ``layer_python``/botocore/data every service folder not in ``services``
    and their entries in ``endpoints.json``. Raises SystemExit naming a service botocore
    does not have (a typo would otherwise remove the one it meant)."""
    data = layer_python / "botocore" / "data"
    unknown = [s for s in services if not (data / s).is_dir()]
    if unknown:
        raise SystemExit(f"botocore has no service {', '.join(unknown)} (kept services: BOTOCORE_SERVICES)")
    prefixes = set().union(*(endpoint_prefixes(data, s) for s in services))
    for folder in data.iterdir():
        if folder.is_dir() and folder.name not in services:
            shutil.rmtree(folder)
    endpoints = data / "endpoints.json"
    table = json.loads(endpoints.read_text(encoding="utf-8"))
    for partition in table["partitions"]:
        partition["services"] = {k: v for k, v in partition["services"].items() if k in prefixes}
    endpoints.write_text(json.dumps(table, indent=1), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    slim(Path(sys.argv[1]), sys.argv[2:])
