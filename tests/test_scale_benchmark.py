"""benchmarks/scale_benchmark.py runs standalone on a small size and prints every section (its
figures are read, never asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

SCRIPT = REPO / "benchmarks" / "scale_benchmark.py"

pytestmark = pytest.mark.slow


def test_scale_benchmark_runs_on_a_small_project(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEDRO_", "AIRFLOW__"))}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--sizes", "30", "--repeat", "1", "--keep", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "== 30 nodes ==" in out
    for command in ("bare load", "compile", "kedro-airflow"):
        assert re.search(rf"^{command} +\d+\.\d\d +\d+\.\d\d +\d+ ", out, re.MULTILINE), command
    for mode in ("airflow", "all"):
        assert re.search(rf"^ours \({mode}\) .* 31$", out, re.MULTILINE), mode  # + final task
        assert re.search(rf"^kedro-airflow \({mode}\) .* 30$", out, re.MULTILINE), mode
        assert f"parse ours / kedro-airflow ({mode}):" in out
    assert "IMPORT ERRORS" not in out
    # one pod per node: the project declares every dataset and has no tag groups
    assert re.search(r"^  group_by: none +30/\d+ ", out, re.MULTILINE)
    assert re.search(r"^  group_by: memory .* refused$", out, re.MULTILINE) is None
    assert out.count("\ngoal: ") == 8  # compile overheads in wall and CPU time
    assert re.search(r"^  group_by: memory,chain +\d+/\d+ ", out, re.MULTILINE)
    assert "what compile imports beyond the bare load" in out
    # the generated project is a real Kedro project with the DAG of every node
    dag = next((tmp_path / "work_30" / "ours").glob("*.py"))
    assert dag.read_text().count("'full_task_id':") == 30
