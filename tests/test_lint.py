"""The project's own code passes its linters: ruff (style, imports, bugbear) and mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

BIN = Path(sys.executable).parent
CODE = ("src", "tests", "benchmarks", "scripts")


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)


def test_ruff() -> None:
    done = _run(str(BIN / "ruff"), "check", "--no-cache", *CODE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format() -> None:
    done = _run(str(BIN / "ruff"), "format", "--check", "--no-cache", *CODE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict() -> None:
    done = _run(str(BIN / "mypy"), "--no-incremental", "--cache-dir", "/dev/null")
    assert done.returncode == 0, done.stdout + done.stderr
