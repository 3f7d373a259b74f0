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

STRATEGIES = ("--strategies", "none", "memory", "chain")
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


def test_fixture_pods_are_counted_from_compile_explain(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEDRO_", "AIRFLOW__"))}
    done = subprocess.run(
        # three strategies: each cell is one `compile --explain` of a project (the rest are
        # the same command with another --group-by)
        [*(sys.executable, str(SCRIPT), "--fixtures", "--keep", str(tmp_path)), *STRATEGIES],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    names = ("spaceflights", "transcoding_project", "modular_project", "grouping_project")
    header = next(line for line in out.splitlines() if line.startswith("pods [tasks/"))
    assert header.split()[3:] == [*names, "spark_project"]
    rows = {}
    for line in out.splitlines():
        found = re.match(r"^  group_by: (\S+) +(.*)$", line)
        if found:
            rows[found.group(1)] = found.group(2).split()
    assert list(rows) == ["none", "memory", "chain"]
    for cells in rows.values():
        assert len(cells) == 5
        assert all(re.fullmatch(r"\d+/\d+|refused", cell) for cell in cells), cells
    # the transcoding project passes data in memory: refused one pod per node, fused by memory
    assert rows["none"][1] == "refused"
    assert re.fullmatch(r"\d+/\d+", rows["memory"][1])
    assert "in-memory data cannot move between tasks" in out
    # chain fusion never adds pods, and a critical path is never longer than the task count
    for before, after in zip(rows["none"], rows["chain"], strict=True):
        if before != "refused":
            tasks, path = map(int, before.split("/"))
            assert path <= tasks
            assert int(after.split("/")[0]) <= tasks
    # the grouping project: 9 nodes, a tag group of two and a spark group of three -> 6 tasks
    assert rows["none"][3] == "6/6"
    # each project was copied and given the plugin's config by init when it had none
    assert (tmp_path / "modular_project" / "conf" / "base" / "kedro-airflow-k8s.yaml").is_file()


def test_the_instruction_count_is_read_from_callgrinds_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The benchmark's ``--instructions`` reads the total callgrind prints when the command
    ends; output without one stops the benchmark instead of reading as zero."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("scale_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look their module up
    monkeypatch.setattr(sys, "path", list(sys.path))  # it puts its folder first
    spec.loader.exec_module(module)
    report = "==123== Events    : Ir\n==123== Collected : 9543273747\n==123==\n==123== I   refs: 9"
    assert module.collected(report) == 9_543_273_747
    with pytest.raises(SystemExit, match="no instruction count"):
        module.collected("==123== error\n")
