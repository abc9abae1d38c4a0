"""A test-only consumer of the table's stream (never deployed): appends every batch it gets
to the JSON-lines file ``$STREAM_SINK`` and fails as a record's ``mode`` attribute asks:
``fail-once`` (reported in ``batchItemFailures`` the first time), ``crash`` (raises, always)."""

import json
import os
from pathlib import Path


def handler(event, context):
    sink = Path(os.environ["STREAM_SINK"])
    with sink.open("a") as f:
        f.write(json.dumps(event) + "\n")
    failures = []
    for record in event["Records"]:
        mode = record["dynamodb"].get("NewImage", {}).get("mode", {}).get("S")
        seq = record["dynamodb"]["SequenceNumber"]
        if mode == "crash":
            raise RuntimeError(f"record {seq} asks to crash")
        marker = sink.with_name(f"failed-{seq}")
        if mode == "fail-once" and not marker.exists():
            marker.touch()
            failures.append({"itemIdentifier": seq})
    return {"batchItemFailures": failures}
