"""001: the baseline: the table as template.yaml defines it and the item layout of keys.py
at the first release. Nothing to change; recorded so later numbers start from a known base
(as the coin-log service's ``000_baseline.sql`` does)."""

DESCRIPTION = "Baseline: table and item layout of the first release (no data change)"


def run(ctx) -> None:  # noqa: ANN001 - Context
    return None
