"""In-memory data kept in per-run storage (``run_config.in_memory``), for real.

A small Kedro project whose nodes pass data in memory (no catalog entries): ``make`` -> numbers ->
``double`` -> doubled -> ``total`` -> summary.json. With ``group_by: none`` each node is a pod of
its own, so both in-memory datasets cross pods. ``kedro airflow-k8s run-once -w`` ships the DAG to
a real Airflow 3, whose scheduler runs each task as a pod of the Kubernetes API emulator; its test
kubelet runs the pod's ``kedro run ...`` in the project folder with the plugin installed from this
repository into a folder of its own (as the image's ``pip install`` would: the hook is found
through the installed ``kedro.hooks`` entry point, not through the test's source tree).

Checked: the run succeeds with three pods of one node each; each pod got the run's folder
``<storage>/<dag id>/<run id>``; the two datasets are pickle files there with the data the nodes
computed, and the last node's output is right.
"""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from kedro_airflow_k8s.runtime.memory import (
    MEMORY_DATASETS_ENV,
    MEMORY_STORAGE_ENV,
    memory_dataset_path,
    memory_run_storage,
)
from tests.helpers import REPO, kedro, write_project

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PACKAGE = "handoff_demo"
DAG_ID = f"{PACKAGE}.__default__.e2e"
QUIET = str(REPO / "scripts" / "quiet-logging.yml")

FILES = {
    f"src/{PACKAGE}/pipeline_registry.py": """\
        from kedro.pipeline import Pipeline, node


        def make(count):
            return list(range(1, count + 1))


        def double(numbers):
            return [2 * n for n in numbers]


        def total(doubled):
            return {"total": sum(doubled), "count": len(doubled)}


        def register_pipelines():
            pipeline = Pipeline(
                [
                    node(make, "params:count", "numbers", name="make"),
                    node(double, "numbers", "doubled", name="double"),
                    node(total, "doubled", "summary", name="total"),
                ]
            )
            return {"__default__": pipeline}
        """,
    "conf/base/parameters.yml": "count: 5\n",
    "conf/base/catalog.yml": """\
        summary:
          type: json.JSONDataset
          filepath: data/summary.json
        """,
}


def _project(base: Path, airflow_server: Any, storage: Path) -> Path:
    project = write_project(base, PACKAGE, "Handoff demo", FILES)
    conf = project / "conf" / "e2e"
    conf.mkdir()
    (conf / "kedro-airflow-k8s.yaml").write_text(
        f"host: {airflow_server.base_url}\n"
        f"output: {airflow_server.dags_folder}\n"
        "run_config:\n"
        f"  image: {PACKAGE}:e2e\n"
        "  retries: 0\n"
        "  startup_time: 120\n"
        "  group_by: none\n"
        "  in_memory:\n"
        f"    storage: {storage}\n"
    )
    return project


def _install_plugin(target: Path, work: Path) -> None:
    """The plugin installed from a copy of this repository into ``target`` (pip --target)."""
    source = work / "plugin-source"
    source.mkdir()
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "setup.cfg"):
        shutil.copy2(REPO / name, source / name)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    entry_points = next(target.glob("kedro_airflow_k8s-*.dist-info")) / "entry_points.txt"
    assert "[kedro.hooks]" in entry_points.read_text()


def test_in_memory_data_crosses_three_pods_through_the_runs_storage(
    tmp_path: Path, airflow_server: Any, kube_emulator: Any
) -> None:
    storage = tmp_path / "runs"
    project = _project(tmp_path, airflow_server, storage)
    installed = tmp_path / "site"
    _install_plugin(installed, tmp_path)

    with kube_emulator.configured(workdir=project, env={"PYTHONPATH": str(installed)}):
        done = kedro(
            project,
            "airflow-k8s",
            "-e",
            "e2e",
            "run-once",
            "--wait-for-completion",
            "10",
            env={
                "AIRFLOW_USERNAME": airflow_server.username,
                "AIRFLOW_PASSWORD": airflow_server.password,
                "KEDRO_LOGGING_CONFIG": QUIET,
            },
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    runs = kube_emulator.runs_with_labels(dag_id=DAG_ID)
    assert sorted(run.labels["task_id"] for run in runs) == ["double", "make", "total"]
    for run in runs:  # one node per pod
        assert run.exit_code == 0, run.output[-2000:]
        argv = run.resolved_argv
        assert argv[argv.index("--nodes") + 1] == run.labels["task_id"], argv

    [dag_run] = airflow_server.api.get(f"/dags/{quote(DAG_ID, safe='')}/dagRuns")["dag_runs"]
    assert dag_run["state"] == "success"
    folder = memory_run_storage(str(storage), DAG_ID, dag_run["dag_run_id"])
    by_task = {run.labels["task_id"]: run for run in runs}
    for task, names in (
        ("make", ["numbers"]),
        ("double", ["numbers", "doubled"]),
        ("total", ["doubled"]),
    ):
        env = by_task[task].pod_env
        assert env[MEMORY_STORAGE_ENV] == folder
        assert json.loads(env[MEMORY_DATASETS_ENV]) == names

    with open(memory_dataset_path(folder, "numbers"), "rb") as file:
        assert pickle.load(file) == [1, 2, 3, 4, 5]
    with open(memory_dataset_path(folder, "doubled"), "rb") as file:
        assert pickle.load(file) == [2, 4, 6, 8, 10]
    summary = json.loads((project / "data" / "summary.json").read_text())
    assert summary == {"total": 30, "count": 5}
