"""What ships: the layer's pinned requirements match the project's dependencies, and every
function's IAM policy stays least-privilege."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tools.local import template
from tools.local.template import ROOT


def _names(specs):
    return {re.split(r"[\[<>=!~ ]", s.strip(), maxsplit=1)[0].lower() for s in specs if s.strip() and not s.startswith("#")}


def test_layer_requirements_match_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    layer = (ROOT / "layers/common/requirements.txt").read_text().splitlines()
    assert _names(layer) == _names(project)
    assert all("==" in line for line in layer if line.strip() and not line.startswith("#")), "pin the layer"


#: Functions whose job is to delete items (user erasure): they may hold dynamodb:DeleteItem.
ERASERS = {"DeleteUserFunction"}


def test_functions_get_only_the_table_actions_they_need():
    resources = template.load()["Resources"]
    for logical_id, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for policy in res["Properties"].get("Policies", []):
            for statement in policy["Statement"]:
                actions = statement["Action"]
                assert not any(a.endswith("*") for a in actions), logical_id
                if not any(a.startswith("dynamodb:") for a in actions):
                    continue  # queues, buses, keys: scoped by their Resource
                if set(actions) <= {"dynamodb:DescribeStream", "sqs:SendMessage"}:
                    continue  # a stream consumer: its stream and on-failure queue, no items
                forbidden = {"dynamodb:Scan", "dynamodb:DeleteTable"}
                if logical_id not in ERASERS:
                    forbidden.add("dynamodb:DeleteItem")
                assert not forbidden & set(actions), logical_id
                assert "dynamodb:LeadingKeys" in statement["Condition"]["ForAllValues:StringLike"], logical_id


def test_every_route_of_the_contract_is_served():
    routes = {r.route_key for fn in template.functions("t").values() for r in fn.routes}
    assert {
        "POST /v1/users/{user_id}/xp",
        "POST /v1/users/{user_id}/coins",
        "GET /v1/users/{user_id}/limits",
        "GET /v1/levels",
        "GET /v1/users/{user_id}",
        "GET /v1/leaderboards/{board}",
    } <= routes


LAYER = ROOT / "layers" / "common"


def _layer_code(out, python=sys.executable, version="%d.%d" % sys.version_info[:2]):
    return subprocess.run(
        ["make", "-C", str(LAYER), "--no-print-directory", "layer-code", f"ARTIFACTS_DIR={out}",
         f"LAYER_PYTHON={python}", f"RUNTIME_VERSION={version}"],
        capture_output=True, text=True,
    )


def test_the_layer_ships_bytecode_used_whatever_its_files_timestamps(tmp_path):
    """Lambda's /opt is read-only: without bytecode in the layer every cold start compiles
    every module it imports (docs/benchmarks.md, "Cold start and warm time")."""
    assert _layer_code(tmp_path).returncode == 0
    sources = list((tmp_path / "python" / "gamification").rglob("*.py"))
    assert len(sources) > 50
    for source in sources:
        pyc = Path(importlib.util.cache_from_source(str(source)))
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b01, source  # hash-based, source not checked: zip timestamps do not matter
    probe = subprocess.run(
        [sys.executable, "-c", "import gamification.domain.rules as m; print(m.__spec__.cached)"],
        env={"PYTHONPATH": str(tmp_path / "python"), "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ["PATH"]},
        capture_output=True, text=True,
    )
    assert probe.returncode == 0, probe.stderr
    cached = Path(probe.stdout.strip())
    assert cached.is_relative_to(tmp_path) and cached.exists()


def test_the_layer_refuses_to_compile_with_another_python_than_the_runtime(tmp_path):
    built = _layer_code(tmp_path, version="3.99")
    assert built.returncode != 0 and "needs Python 3.99" in built.stderr
    assert not (tmp_path / "python" / "gamification").exists()


def test_the_layer_compiles_for_the_template_runtime():
    runtime = template.load()["Globals"]["Function"]["Runtime"]
    default = re.search(r"^RUNTIME_VERSION \?= (\S+)$", (LAYER / "Makefile").read_text(), re.M).group(1)
    assert runtime == f"python{default}"


def test_every_table_a_test_creates_leaves_ttl_off():
    """The test clocks are frozen in 2025-2026, and DynamoDB Local deletes items by the real
    clock: a table with TTL loses a test's items mid-run (CONTRIBUTING.md, "Frozen clocks and
    TTL"). The one test that shows the sweep names its TTL table on purpose."""
    calls = [
        (path.relative_to(ROOT), n, line)
        for path in (ROOT / "tests").rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "backend.create_table(" in line and "ttl=False" not in line
    ]
    assert [c[0].name for c in calls] == ["test_edge_cases.py"], calls


def _kept_services() -> set[str]:
    return set(re.search(r"^BOTOCORE_SERVICES \?= (.+)$", (LAYER / "Makefile").read_text(), re.M).group(1).split())


def test_the_layer_keeps_every_aws_service_the_code_creates_a_client_for():
    """A client of a service cut from the layer's botocore data fails in Lambda only
    (``UnknownServiceError``): every ``client("...")`` in the package names a kept service."""
    named = set()
    for source in (LAYER / "python" / "gamification").rglob("*.py"):
        named |= set(re.findall(r"\bclient\(\s*\"([a-z0-9-]+)\"", source.read_text()))
    assert {"dynamodb", "dynamodbstreams", "events", "kms", "sqs"} <= named  # the scan finds them
    assert named <= _kept_services()


_ENDPOINTS = """
import json, sys, boto3, botocore.exceptions
out = {}
for region in ("us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"):
    for service in sys.argv[1:]:
        out[f"{region} {service}"] = boto3.client(service, region_name=region, aws_access_key_id="x",
                                                  aws_secret_access_key="x").meta.endpoint_url
for service in sys.argv[1:]:  # read from endpoints.json, not from the endpoint rule sets
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        out[f"regions {partition} {service}"] = boto3.session.Session().get_available_regions(service, partition)
try:
    boto3.client("s3", region_name="us-east-1")
    out["s3"] = "kept"
except botocore.exceptions.UnknownServiceError:
    out["s3"] = "cut"
print(json.dumps(out))
"""


def test_the_slimmed_botocore_resolves_the_kept_services_as_the_full_one(tmp_path):
    """slim_botocore.py on a copy of this environment's botocore: the kept services' clients
    get the same endpoints and regions as with the full data (partitions of China and
    GovCloud included), a service left out is refused, and the data is a fraction of its size."""
    import botocore

    full = Path(botocore.__file__).parent
    shutil.copytree(full, tmp_path / "botocore", ignore=shutil.ignore_patterns("__pycache__"))
    kept = sorted(_kept_services())
    built = subprocess.run([sys.executable, str(LAYER / "slim_botocore.py"), str(tmp_path), *kept],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr

    def endpoints(path_first: Path | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        if path_first:
            env["PYTHONPATH"] = str(path_first)
        probe = subprocess.run([sys.executable, "-c", _ENDPOINTS, *kept], env=env, capture_output=True, text=True)
        assert probe.returncode == 0, probe.stderr
        return json.loads(probe.stdout)

    slim, reference = endpoints(tmp_path), endpoints(None)
    assert slim.pop("s3") == "cut" and reference.pop("s3") == "kept"
    assert slim == reference
    assert "https://streams.dynamodb.cn-north-1.amazonaws.com.cn" in slim.values()
    assert "eu-west-1" in slim["regions aws dynamodbstreams"]
    size = sum(f.stat().st_size for f in (tmp_path / "botocore" / "data").rglob("*") if f.is_file())
    assert size < sum(f.stat().st_size for f in (full / "data").rglob("*") if f.is_file()) / 10


def test_slimming_refuses_a_service_botocore_does_not_have(tmp_path):
    (tmp_path / "botocore" / "data" / "dynamodb").mkdir(parents=True)
    built = subprocess.run([sys.executable, str(LAYER / "slim_botocore.py"), str(tmp_path), "dynamodb", "dynamodbb"],
                           capture_output=True, text=True)
    assert built.returncode != 0 and "no service dynamodbb" in built.stderr
    assert (tmp_path / "botocore" / "data" / "dynamodb").is_dir()
