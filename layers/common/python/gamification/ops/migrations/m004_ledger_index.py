"""003: every XP and coin ledger entry gets the GSI ``ledger`` keys (``ledger_pk``,
``ledger_sk``: :func:`gamification.dal.keys.ledger_index`), so the ledger history lists
entries written before the index existed too. New entries are written with them."""

DESCRIPTION = "Ledger entries: add the 'ledger' index keys (history newest first) where missing"


def run(ctx) -> None:  # noqa: ANN001 - Context
    from gamification.dal import keys
    from gamification.dal.ledger_store import add_index_keys

    for item in ctx.scan(
        "(begins_with(sk, :xp) OR begins_with(sk, :coin)) AND attribute_not_exists(#l)",
        names={"#l": "ledger_pk"},
        values={":xp": "XP#", ":coin": "COIN#"},
    ):
        key = {"pk": item["pk"], "sk": item["sk"]}
        if add_index_keys(ctx.store, key, keys.ledger_index(key)):
            ctx.changed += 1
