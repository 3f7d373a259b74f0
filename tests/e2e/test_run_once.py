"""`kedro airflow-k8s run-once --wait` on the bundled example, for real: the plugin uploads the
DAG into a real Airflow 3's DAG folder, has it parsed through the REST API, triggers it and follows
it while the scheduler runs every task as a pod of the Kubernetes API emulator, whose test kubelet
runs the pod's `kedro run ...` in a copy of the example project."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from tests.helpers import REPO, VENV_BIN, copy_example, dag_spec, kedro

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


def test_run_once_wait_survives_an_api_server_restart(
    tmp_path: Path,
    airflow_server: Any,
    kube_emulator: Any,
    region_variable: None,
    e2e_timings: dict[str, Any],
) -> None:
    """The api-server is stopped once the run is triggered and started again a few seconds
    later: the command keeps following the same run and ends with Airflow's own verdict."""
    project = _project(tmp_path, airflow_server)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KEDRO_")},
        "KEDRO_DISABLE_TELEMETRY": "true",
        "AIRFLOW_USERNAME": airflow_server.username,
        "AIRFLOW_PASSWORD": airflow_server.password,
        "KEDRO_LOGGING_CONFIG": QUIET,
    }
    command = [
        str(VENV_BIN / "kedro"), "airflow-k8s", "-e", "e2e", "-p", "data_processing",
        "run-once", "-d", "spaceflights-restart", "-w", "10",
    ]  # fmt: skip
    lines: list[str] = []
    with kube_emulator.configured(workdir=project):
        process = subprocess.Popen(
            command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
        reader.start()
        try:
            deadline = time.monotonic() + 300
            while not any(line.startswith("Triggered ") for line in lines):
                assert process.poll() is None and time.monotonic() < deadline, "".join(lines)
                time.sleep(0.2)
            stopped = time.monotonic()
            airflow_server.stop_process("api-server")
            time.sleep(5)
            airflow_server.start_process("api-server")
            e2e_timings["run_once_api_server_down_s"] = time.monotonic() - stopped
            process.wait(600)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        reader.join(10)
    stdout, stderr = "".join(lines), process.stderr.read() if process.stderr else ""
    run_id = re.search(r"Triggered spaceflights-restart run (\S+):", stdout)
    assert run_id, stdout
    state = airflow_server.api.dag_run("spaceflights-restart", run_id.group(1))["state"]
    assert state in ("success", "failed")
    e2e_timings["run_once_after_restart_verdict"] = state
    assert process.returncode == (0 if state == "success" else 1), stdout + stderr[-2000:]
    assert f"Airflow at {airflow_server.base_url} does not answer (" in stdout
    assert f"Airflow at {airflow_server.base_url} answers again after " in stdout
    verdict = "succeeded." if state == "success" else "failed"
    assert f"{run_id.group(1)} of spaceflights-restart" in (stdout + stderr)
    assert verdict in stdout + stderr
