"""The import rules of CONTRIBUTING.md: the import-linter contracts of pyproject.toml hold,
they fail on a deliberate violation, and the handlers (``functions/*/app.py``, not a
package, so outside import-linter's reach) import only use cases, the wiring and the API."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.local.template import ROOT

PACKAGE = ROOT / "layers" / "common" / "python" / "gamification"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture()
def copy_of_the_layer(tmp_path: Path) -> Path:
    """The package and the contracts copied to a scratch directory, to break on purpose."""
    shutil.copytree(PACKAGE, tmp_path / "python" / "gamification", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_import_contracts_hold():
    result = _lint(ROOT, PACKAGE.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_copy_is_clean_so_the_added_import_is_what_breaks_it(copy_of_the_layer: Path):
    clean = _lint(copy_of_the_layer, copy_of_the_layer / "python")
    assert clean.returncode == 0, clean.stdout + clean.stderr


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("domain/periods.py", "import boto3", "The domain imports nothing of ours"),
        ("dal/keys.py", "from gamification import clock", "The DAL imports the domain only"),
        ("usecases/auth.py", "from gamification.api import http", "Layers:"),
        ("dal/keys.py", "from gamification.usecases import auth", "Layers:"),
        ("usecases/auth.py", "import botocore.config", "Only gamification.dal imports boto3"),
    ],
)
def test_a_deliberate_violation_breaks_a_contract(copy_of_the_layer: Path, module: str, line: str, contract: str):
    root = copy_of_the_layer
    target = root / "python" / "gamification" / module
    target.write_text(target.read_text() + f"\n{line}  # deliberate violation\n")
    broken = _lint(root, root / "python")
    assert broken.returncode != 0, broken.stdout
    assert f"{contract}" in broken.stdout and "BROKEN" in broken.stdout, broken.stdout


#: What a handler may import of ours: use cases, the process wiring, the API glue and models,
#: logging/metrics, the clock, and the domain's errors (raising one answers the v1 envelope).
HANDLER_ALLOWED = (
    "gamification.usecases",
    "gamification.runtime",
    "gamification.api",
    "gamification.observability",
    "gamification.clock",
    "gamification.domain.errors",
)
HANDLER_FORBIDDEN_EXTERNAL = ("boto3", "botocore")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module] if node.module != "gamification" else [f"gamification.{a.name}" for a in node.names]
    return names


def _allowed(name: str) -> bool:
    if name.split(".")[0] in HANDLER_FORBIDDEN_EXTERNAL:
        return False
    if name.split(".")[0] != "gamification":
        return True
    return any(name == a or name.startswith(a + ".") for a in HANDLER_ALLOWED)


HANDLERS = sorted((ROOT / "functions").glob("*/app.py"))


@pytest.mark.parametrize("handler", HANDLERS, ids=[h.parent.name for h in HANDLERS])
def test_handlers_import_use_cases_runtime_and_api_only(handler: Path):
    bad = [name for name in _imports(handler) if not _allowed(name)]
    assert not bad, f"{handler.relative_to(ROOT)} imports {bad}; see CONTRIBUTING.md 'What may import what'"


def test_the_handler_check_catches_a_violation(tmp_path: Path):
    handler = tmp_path / "app.py"
    handler.write_text("from gamification.dal.store import Store\nimport boto3\nfrom gamification import settings\n")
    assert [n for n in _imports(handler) if not _allowed(n)] == ["gamification.dal.store", "boto3", "gamification.settings"]
