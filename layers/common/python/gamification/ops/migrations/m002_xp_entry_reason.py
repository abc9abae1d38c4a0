"""002: every XP ledger entry gets ``reason`` (= its ``action``), like coin entries and the
source systems' ledgers (``coin_log.reason``, ``xp_transactions``): one "why" field for every ledger.
New entries are written with it (since signed awards); this backfills entries written before."""

DESCRIPTION = "XP ledger entries: add 'reason' (copy of 'action') where missing"


def run(ctx) -> None:  # noqa: ANN001 - Context
    from gamification.dal.store import set_if_absent

    for item in ctx.scan(
        "begins_with(sk, :xp) AND attribute_exists(#a) AND attribute_not_exists(#r)",
        names={"#a": "action", "#r": "reason"},
        values={":xp": "XP#"},
    ):
        if set_if_absent(ctx.store, {"pk": item["pk"], "sk": item["sk"]}, "reason", item["action"]):
            ctx.changed += 1
