"""ruff's Airflow rules (AIR, preview ones included) find nothing in a generated DAG."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

RUFF = Path(sys.executable).parent / "ruff"


@pytest.mark.parametrize("preview", [False, True], ids=["stable", "preview"])
def test_generated_dag_passes_ruff_airflow_rules(compiled_example: Any, preview: bool) -> None:
    command = [str(RUFF), "check", "--no-cache", "--isolated", "--select", "AIR"]
    if preview:
        command.append("--preview")
    done = subprocess.run(
        [*command, str(compiled_example.dag_file)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All checks passed" in done.stdout
