"""``make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json``: a Docker-free
``sam local invoke``. Runs one function of template.yaml with an event file, in-process, and
prints its result as JSON.

The DynamoDB it uses: ``AWS_ENDPOINT_URL_DYNAMODB`` if set (e.g. the running ``make run``
stack at http://127.0.0.1:8000, or a real endpoint), else a fresh embedded one.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tools.local import lambdas, stack, template


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    logical_id, event_path = argv
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    info = stack.prepare()
    fns = template.functions(info["table"])
    if logical_id not in fns:
        print(f"no function {logical_id} in template.yaml; one of: {', '.join(sorted(fns))}", file=sys.stderr)
        return 2
    fn = fns[logical_id]
    template.apply_environment(fn.environment)
    event = json.loads(Path(event_path).read_text())
    result = lambdas.invoke(fn, lambdas.load_handler(fn), event)
    print(json.dumps(result, indent=2))
    if info["server"]:
        info["server"].stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
