"""``make run``: API v1 on http://127.0.0.1:$PORT over Amazon DynamoDB Local, no AWS or Docker.

Environment: ``PORT`` (3000), ``DYNAMODB_PORT`` (8000; where DynamoDB Local listens, on every
interface, so ``make invoke`` can reach it), ``PERSIST`` (``1``: keep the data in
``.local/dynamodb-data`` across restarts; else in memory), ``GAMIFICATION_RULES_FILE`` (bundled seed rules),
``GAMIFICATION_API_KEY`` (local-dev-key), ``AWS_ENDPOINT_URL_DYNAMODB`` (use another
DynamoDB-compatible endpoint instead of the embedded one), ``TABLE_NAME``,
``GAMIFICATION_WEBHOOK_BACKOFF_SCALE`` (1; e.g. 0.01 runs webhook retries 100x sooner).
"""

from __future__ import annotations

import os
import sys

from tools.local import apigw, lambdas, stack, template


def main() -> int:
    lambdas.use_layer()
    from gamification.domain.rules import RulesError, load_rules

    try:
        rules = load_rules(os.environ.get("GAMIFICATION_RULES_FILE") or None)
    except RulesError as exc:
        print(exc, file=sys.stderr)
        return 2
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon locally
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # keep EMF lines off the console
    persist = os.environ.get("PERSIST", "").strip() not in ("", "0", "false", "no")
    info = stack.prepare(
        dynamodb_port=int(os.environ.get("DYNAMODB_PORT", "8000")),
        db_path=template.ROOT / ".local" / "dynamodb-data" if persist else None,
    )
    # Domain events and webhooks: the bus, queues and key stand-ins, and the queue poller.
    from tools.local import aws_services

    services = aws_services.provision(aws_services.start())
    api = apigw.LocalHttpApi(info["table"])
    queue_poller = aws_services.QueuePoller(services, api.invoke).start()
    port = int(os.environ.get("PORT", "3000"))
    server = apigw.make_server(api, port=port)
    from tools.local import streams

    poller = streams.start(
        stack.boto_client(), info["table"], api.invoke, dead_letter_file=template.ROOT / ".local" / "stream-dead-letters.jsonl"
    )
    base = f"http://127.0.0.1:{server.server_address[1]}"
    # The curl example awards an action the loaded rules have (the bundled ones: create_character).
    example = "create_character" if "create_character" in rules.actions else next(iter(rules.actions), "create_character")
    print(
        f"Gamification API v1 on {base}\n"
        f"  DynamoDB   {info['endpoint']} (table {info['table']})\n"
        f"  engine     {info['engine']}\n"
        f"  rules      {os.environ.get('GAMIFICATION_RULES_FILE') or 'bundled seed rules'} "
        f"({len(rules.actions)} actions, {len(rules.levels)} levels, time zone {rules.timezone})\n"
        f"  API key    {info['api_key']} (tenant {info['tenant']})\n"
        f"  streams    {len(poller.sources)} stream consumer(s) of the table's stream\n"
        f"  events     bus, queues and key on {services.endpoint} (webhooks to loopback allowed)\n"
        f"Try: curl -s -X POST {base}/v1/users/alice/xp -H 'Authorization: Bearer {info['api_key']}' "
        f"-H 'Content-Type: application/json' -d '{{\"action\":\"{example}\"}}'",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        poller.stop()
        queue_poller.stop()
        api.close()
        services.stop()
        if info["server"]:
            info["server"].stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
