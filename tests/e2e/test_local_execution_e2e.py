"""Local execution for real: a real Airflow 3 scheduler runs each task of a real Kedro project as
``kedro run`` on its worker (runtime/local.py), with no Kubernetes API involved.

The project: ``make`` -> numbers (JSON file) -> ``double`` -> doubled (in memory) -> ``total`` ->
summary (JSON file). ``group_by: memory`` fuses ``double`` and ``total`` into one task. The DAG is
compiled by the real ``kedro airflow-k8s compile``; the test then gives its SPEC a ``local``
section and writes the file with the local extension (:func:`tests.helpers.local_dag_source`), as
the renderer lays out every DAG file. Three runs go at once:

* ``count=4`` from the run's conf: succeeds; each node ran once, in the task planned for it, the
  fused pair in one process, and the outputs follow the conf (not parameters.yml);
* ``behaviour=fail``: ``make`` raises, its task fails with kedro's exit code and the traceback in
  the task log, the DAG run fails;
* ``behaviour=hang``: ``make`` starts a child process and sleeps; the test marks the task failed
  through the REST API and Airflow stops it: the kedro process and its child are gone.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.helpers import REPO, dag_spec, kedro, local_dag_source, write_project

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PACKAGE = "local_demo"
DAG_ID = "local_e2e.__default__.local"
QUIET = str(REPO / "scripts" / "quiet-logging.yml")

FILES = {
    f"src/{PACKAGE}/pipeline_registry.py": """\
        import os
        import subprocess
        import sys
        import time
        from pathlib import Path

        from kedro.pipeline import Pipeline, node


        def make(count, behaviour, pid_file, tag):
            if behaviour == "fail":
                raise ValueError("make was asked to fail")
            if behaviour == "hang":
                child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
                Path(pid_file).write_text(f"{os.getpid()} {child.pid}")
                time.sleep(600)
            print(f"making {count} numbers", flush=True)
            return {"values": list(range(1, count + 1)), "pid": os.getpid(), "tag": tag}


        def double(numbers, factor):
            return {"values": [factor * n for n in numbers["values"]], "pid": os.getpid()}


        def total(doubled):
            return {"total": sum(doubled["values"]), "pids": [doubled["pid"], os.getpid()]}


        def register_pipelines():
            pipeline = Pipeline(
                [
                    node(
                        make,
                        ["params:count", "params:behaviour", "params:pid_file", "params:tag"],
                        "numbers",
                        name="make",
                    ),
                    node(double, ["numbers", "params:factor"], "doubled", name="double"),
                    node(total, "doubled", "summary", name="total"),
                ]
            )
            return {"__default__": pipeline}
        """,
    "conf/base/parameters.yml": """\
        count: 5
        factor: 2
        behaviour: ""
        pid_file: ""
        tag: ""
        """,
    "conf/base/catalog.yml": """\
        numbers:
          type: json.JSONDataset
          filepath: data/numbers.json
        summary:
          type: json.JSONDataset
          filepath: data/summary.json
        """,
    "conf/base/kedro-airflow-k8s.yaml": """\
        run_config:
          image: unused:1
          run_name: local_e2e
          cron_expression: null
          retries: 0
          group_by: memory
        """,
}


def _project(base: Path) -> Path:
    project = write_project(base, PACKAGE, "Local demo", FILES)
    return project


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def _wait(check: Any, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.5)


def test_tasks_run_as_local_kedro_processes_of_the_airflow_worker(
    tmp_path: Path, airflow_server: Any
) -> None:
    project = _project(tmp_path)
    compiled = tmp_path / "compiled"
    done = kedro(
        project, "airflow-k8s", "compile", "-o", str(compiled), env={"KEDRO_LOGGING_CONFIG": QUIET}
    )
    assert done.returncode == 0, done.stderr[-3000:]
    spec = dag_spec(compiled / "local_e2e___default___local.py")
    tasks = {task["full_task_id"]: task["nodes"] for task in spec["tasks"]}
    fused = next(task_id for task_id, nodes in tasks.items() if nodes == ["double", "total"])
    assert tasks == {"make": ["make"], fused: ["double", "total"]}
    # Manual runs only: with a schedule, unpausing would add a run with parameters.yml's values
    # beside the three below, writing the same files.
    assert spec["dag"]["schedule"] is None
    spec["local"] = {"project_path": str(project), "python": sys.executable, "warnings": []}
    spec["dag"]["max_active_runs"] = 3  # the three runs below go at once
    airflow_server.write_dag("local_e2e.py", local_dag_source(spec))

    api = airflow_server.api
    api.request_parse(api.any_file_token())
    api.wait_for_dag(DAG_ID, timeout=120)
    api.set_paused(DAG_ID, False)
    pid_file = tmp_path / "hang.pids"
    good = api.trigger(DAG_ID, {"count": 4, "tag": "good"})["dag_run_id"]
    failing = api.trigger(DAG_ID, {"behaviour": "fail", "tag": "failing"})["dag_run_id"]
    hanging = api.trigger(
        DAG_ID, {"behaviour": "hang", "pid_file": str(pid_file), "tag": "hanging"}
    )["dag_run_id"]

    # Airflow stops the hanging task: marked failed through the API.
    _wait(lambda: pid_file.exists() and pid_file.read_text(), "pid file of the hanging run", 180)
    kedro_pid, child_pid = map(int, pid_file.read_text().split())
    path = f"/dags/{quote(DAG_ID, safe='')}/dagRuns/{quote(hanging, safe='')}/taskInstances/make"
    api.request("PATCH", path, json={"new_state": "failed"})
    _wait(lambda: not _alive(kedro_pid) and not _alive(child_pid), "end of the processes", 60)

    # The good run: every node once, in its task; the conf's count, not parameters.yml's.
    run = api.wait_for_run(DAG_ID, good, timeout=300)
    states = {t["task_id"]: t["state"] for t in api.task_instances(DAG_ID, good)}
    assert run["state"] == "success", states
    assert states == {"make": "success", fused: "success", "pipeline_complete": "success"}
    numbers = json.loads((project / "data" / "numbers.json").read_text())
    summary = json.loads((project / "data" / "summary.json").read_text())
    assert numbers["values"] == [1, 2, 3, 4], (
        numbers,
        "\n".join(api.task_log(DAG_ID, r, "make") for r in (good, failing, hanging)),
    )
    assert summary["total"] == 20
    double_pid, total_pid = summary["pids"]
    assert double_pid == total_pid != numbers["pid"]  # the fused pair shared one process
    log = api.task_log(DAG_ID, good, "make")
    assert f"{sys.executable} -m kedro run --env local --pipelines __default__ --nodes make" in log
    assert "--params=count=4" in log
    assert "making 4 numbers" in log  # the process's output, in the task log

    # The failing run: the task fails with kedro's exit code, the traceback in its log.
    run = api.wait_for_run(DAG_ID, failing, timeout=300)
    states = {t["task_id"]: t["state"] for t in api.task_instances(DAG_ID, failing)}
    assert run["state"] == "failed"
    assert states["make"] == "failed" and states[fused] == "upstream_failed"
    log = api.task_log(DAG_ID, failing, "make")
    assert "ValueError: make was asked to fail" in log
    assert "kedro run exited with code 1" in log

    run = api.wait_for_run(DAG_ID, hanging, timeout=120)
    assert run["state"] == "failed"
    assert "Stopping kedro run (process group" in api.task_log(DAG_ID, hanging, "make")
