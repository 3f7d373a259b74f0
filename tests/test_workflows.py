"""The project's own automation: the GitHub Actions workflows pass the real actionlint and run the
project's checks, and tox has an environment for each of them."""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import REPO, actionlint

WORKFLOWS = sorted(
    [
        *(REPO / ".github" / "workflows").glob("*.yml"),
        *(REPO / ".github" / "workflows").glob("*.yaml"),
    ]
)


def _steps(workflow: dict[str, Any], job: str) -> str:
    """Everything the job's steps run or use, one per line."""
    steps = workflow["jobs"][job]["steps"]
    return "\n".join(str(step.get("run") or step.get("uses") or "") for step in steps)


def test_there_is_a_workflow() -> None:
    assert REPO / ".github" / "workflows" / "ci.yml" in WORKFLOWS


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_actionlint_finds_nothing(workflow: Path) -> None:
    done = actionlint(workflow)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  test:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: echo ${{ matrix.python-versoin }}\n"
    )
    done = actionlint(broken)
    assert done.returncode == 1
    assert "broken.yml:6:" in done.stdout


def test_ci_runs_lint_tests_demo_and_docs_on_push_and_pull_requests() -> None:
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    triggers = ci[True]  # YAML 1.1 reads the key `on` as a boolean
    assert "push" in triggers and "pull_request" in triggers
    assert {"lint", "tests", "docs"} <= set(ci["jobs"])
    lint = _steps(ci, "lint")
    for command in ("ruff check src tests", "ruff format --check src tests", "mypy"):
        assert command in lint, command
    assert "bash scripts/test.sh" in _steps(ci, "tests")
    # the suite on 3.11; the Airflow matrix under the other supported Pythons
    matrix = ci["jobs"]["python-matrix"]
    assert matrix["strategy"]["matrix"]["python-version"] == ["3.10", "3.12"]
    assert "bash scripts/test.sh -m matrix" in _steps(ci, "python-matrix")
    assert "KAK8S_MATRIX_PYTHON" in str(matrix["steps"])
    assert "bash scripts/demo.sh" in _steps(ci, "demo")  # README's first command, from scratch
    docs = _steps(ci, "docs")
    assert "requirements/docs.txt" in docs
    assert "mkdocs build --strict" in docs


def test_tox_has_the_suite_lint_docs_and_matrix_environments() -> None:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(REPO / "tox.ini")
    envlist = {name.strip() for name in tox["tox"]["envlist"].split(",")}
    assert {"lint", "docs", "matrix"} <= envlist
    assert any(name.startswith("py3") for name in envlist)
    assert "pytest" in tox["testenv"]["commands"]
    # The suite's environment installs what scripts/test.sh installs.
    installed = re.findall(
        r"-r (requirements/\S+\.txt)", (REPO / "scripts" / "test.sh").read_text()
    )
    assert "requirements/docs.txt" in installed
    for requirements in installed:
        assert f"-r {requirements}" in tox["testenv"]["deps"], requirements
    lint = tox["testenv:lint"]["commands"]
    for command in ("ruff check src tests", "ruff format --check src tests", "mypy"):
        assert command in lint, command
    assert "mkdocs build --strict" in tox["testenv:docs"]["commands"]
    assert "-r requirements/docs.txt" in tox["testenv:docs"]["deps"]
    assert "pytest -m matrix" in tox["testenv:matrix"]["commands"]
