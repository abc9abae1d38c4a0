"""003: every API key gets a listing entry (``APIKEYS / {tenant}#{key_id}``) and a
``key_id``, so operators list, rotate and revoke keys by id with one Query instead of a
table scan (docs/security.md "API keys"). Keys created since carry both."""

DESCRIPTION = "API keys: add key_id and the operator's listing entry where missing"


def run(ctx) -> None:  # noqa: ANN001 - Context
    from gamification.dal import keys
    from gamification.dal.store import set_if_absent
    from gamification.usecases.auth import key_id

    for item in ctx.scan("begins_with(pk, :k)", values={":k": "APIKEY#"}):
        key_hash = item["pk"][len("APIKEY#"):]
        kid = key_id(key_hash)
        set_if_absent(ctx.store, {"pk": item["pk"], "sk": item["sk"]}, "key_id", kid)
        entry = {a: v for a, v in item.items() if a not in ("pk", "sk")}
        if ctx.store.put_new(keys.api_key_index_key(item["tenant_id"], kid), {**entry, "key_id": kid, "key_hash": key_hash}):
            ctx.changed += 1
