"""`kedro airflow-k8s run-once --wait` on the bundled example, for real: the plugin uploads the
DAG into a real Airflow 3's DAG folder, has it parsed through the REST API, triggers it and follows
it while the scheduler runs every task as a pod of the Kubernetes API emulator, whose test kubelet
runs the pod's `kedro run ...` in a copy of the example project."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, copy_example, dag_spec, kedro

QUIET = str(REPO / "scripts" / "quiet-logging.yml")


def _project(base: Path, airflow_server: Any) -> Path:
    project = copy_example(base)
    conf = project / "conf" / "e2e"
    conf.mkdir()
    (conf / "kedro-airflow-k8s.yaml").write_text(
        f"host: {airflow_server.base_url}\n"
        f"output: {airflow_server.dags_folder}\n"
        "run_config:\n"
        "  image: spaceflights:e2e\n"
        "  retries: 0\n"
        "  startup_time: 120\n"
        # A scheduled run waits for this DAG, which does not exist (the sensor would fail at
        # once): run-once leaves the sensors out, so its runs succeed.
        "  external_dependencies:\n"
        "    - {dag_id: never_deployed_upstream, check_existence: true, timeout: 1}\n"
    )
    return project


@pytest.fixture(scope="module")
def region_variable(airflow_server: Any) -> None:
    """The example exports the Airflow Variable AWS_DEFAULT_REGION to its pods."""
    airflow_server.cli("variables", "set", "AWS_DEFAULT_REGION", "eu-central-1")


def _run_once(project: Path, airflow_server: Any, *args: str, password: str | None = None) -> Any:
    env = {
        "AIRFLOW_USERNAME": airflow_server.username,
        "AIRFLOW_PASSWORD": password if password is not None else airflow_server.password,
        "KEDRO_LOGGING_CONFIG": QUIET,
    }
    return kedro(project, "airflow-k8s", "-e", "e2e", "run-once", *args, env=env)


def test_run_once_waits_for_success_and_the_outputs_exist(
    tmp_path: Path,
    airflow_server: Any,
    kube_emulator: Any,
    region_variable: None,
    e2e_timings: dict[str, Any],
) -> None:
    project = _project(tmp_path, airflow_server)
    with kube_emulator.configured(workdir=project):
        done = _run_once(project, airflow_server, "--wait-for-completion", "10", "--param", "x=1")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "succeeded" in done.stdout
    queued = re.search(r"Run queued ([0-9.]+) s after the command started", done.stdout)
    assert queued, done.stdout
    e2e_timings["run_once_command_to_run_queued_s"] = float(queued.group(1))
    for namespace in ("active_modelling_pipeline", "candidate_modelling_pipeline"):
        assert (project / "data" / "08_reporting" / namespace / "metrics.json").is_file()
    assert (project / "data" / "03_primary" / "model_input_table.parquet").is_file()
    uploaded = airflow_server.dags_folder / "spaceflights___default___e2e.py"
    assert dag_spec(uploaded)["external_dependencies"] == []  # configured, left out by run-once
    compiled = kedro(
        project, "airflow-k8s", "-e", "e2e", "compile", "-o", str(tmp_path / "compiled")
    )
    assert compiled.returncode == 0, compiled.stderr[-2000:]
    (scheduled,) = (tmp_path / "compiled").glob("*.py")
    assert [s["dag_id"] for s in dag_spec(scheduled)["external_dependencies"]] == [
        "never_deployed_upstream"
    ]
    runs = kube_emulator.runs_with_labels(dag_id="spaceflights.__default__.e2e")
    assert len(runs) == 8  # 9 nodes, the two preprocessing nodes share a pod


def test_run_once_names_the_failed_task(
    tmp_path: Path, airflow_server: Any, kube_emulator: Any, region_variable: None
) -> None:
    project = _project(tmp_path, airflow_server)
    (project / "data" / "01_raw" / "shuttles.csv").write_text("not,a\nvalid")
    with kube_emulator.configured(workdir=project):
        done = _run_once(project, airflow_server, "-d", "spaceflights-broken", "-w", "10")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "failed tasks: preprocessing" in errors[0], done.stderr[-2000:]
    assert "--- last log lines of preprocessing" in done.stdout
    assert "Traceback" not in done.stderr


def test_wrong_password_is_a_clear_auth_error(tmp_path: Path, airflow_server: Any) -> None:
    project = _project(tmp_path, airflow_server)
    before = sorted(p.name for p in airflow_server.dags_folder.iterdir())
    done = _run_once(project, airflow_server, password="wrong-password")
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert errors == [
        f"Error: Airflow at {airflow_server.base_url} rejected user 'admin' (401 Unauthorized): "
        "wrong user name or password; check AIRFLOW_USERNAME and AIRFLOW_PASSWORD"
    ], done.stderr[-2000:]
    assert "wrong-password" not in done.stdout + done.stderr
    assert sorted(p.name for p in airflow_server.dags_folder.iterdir()) == before
    shutil.rmtree(project)
