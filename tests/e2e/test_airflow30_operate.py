"""The operate commands on a real Airflow 3.0.0 server, the oldest release of the 3.x line the
plugin supports (its own virtualenv from requirements/airflow-3.0-server.txt, resolved as of the
release). Airflow 3.0 ignores the ``bundle_name`` filter of the DAG list and the
``filename_pattern`` filter of the import errors, which the plugin then applies itself. Another
DAG file with an import error is found in the same folder during the wait: run-once must neither
take it for its own DAG's error nor miss its own DAG's parse. The pods run in the Kubernetes API
emulator's test kubelet, as on Airflow 3.3.2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, copy_example, kedro
from tests.venvs import venv_python

AIRFLOW30 = "airflow-3.0-server"
pytestmark = [pytest.mark.e2e, pytest.mark.venv(AIRFLOW30), pytest.mark.slow]

QUIET = str(REPO / "scripts" / "quiet-logging.yml")
BROKEN = "someone_elses_broken_dag.py"


@pytest.fixture(scope="module")
def airflow30(airflow_server_factory: Any) -> Any:
    server = airflow_server_factory(airflow_bin=venv_python(AIRFLOW30).parent / "airflow")
    version = server.cli("version")
    assert version.returncode == 0 and version.stdout.strip() == "3.0.0", version
    (server.dags_folder / BROKEN).write_text(  # "airflow" and "DAG" in it: a DAG file candidate
        "from airflow.sdk import DAG\n\nraise ImportError('not this project DAG')\n"
    )
    done = server.cli("variables", "set", "AWS_DEFAULT_REGION", "eu-central-1")
    assert done.returncode == 0, done.stderr[-2000:]
    return server


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, airflow30: Any) -> Path:
    project = copy_example(tmp_path_factory.mktemp("airflow30"))
    conf = project / "conf" / "e2e30"
    conf.mkdir()
    (conf / "kedro-airflow-k8s.yaml").write_text(
        f"host: {airflow30.base_url}\n"
        f"output: {airflow30.dags_folder}\n"
        "run_config:\n"
        "  image: spaceflights:e2e\n"
        "  retries: 0\n"
        "  startup_time: 120\n"
    )
    return project


def _cli(project: Path, server: Any, *args: str) -> Any:
    env = {
        "AIRFLOW_USERNAME": server.username,
        "AIRFLOW_PASSWORD": server.password,
        "KEDRO_LOGGING_CONFIG": QUIET,
    }
    return kedro(project, "airflow-k8s", "-e", "e2e30", "-p", "data_processing", *args, env=env)


def test_run_once_on_airflow_3_0_runs_to_success(
    project: Path, airflow30: Any, kube_emulator: Any
) -> None:
    with kube_emulator.configured(workdir=project):
        done = _cli(project, airflow30, "run-once", "--wait-for-completion", "10")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "succeeded" in done.stdout
    assert BROKEN not in done.stdout + done.stderr  # another file's import error is not ours
    assert (project / "data" / "03_primary" / "model_input_table.parquet").is_file()
    runs = kube_emulator.runs_with_labels(dag_id="spaceflights.data_processing.e2e30")
    assert len(runs) >= 1
    # the parse run-once asked for rescanned the folder: the other file's error was there
    errors = [e["filename"] for e in airflow30.api.import_errors()]
    assert any(name.endswith(BROKEN) for name in errors), errors


def test_list_pipelines_on_airflow_3_0_shows_only_the_projects_dags(
    project: Path, airflow30: Any
) -> None:
    done = _cli(project, airflow30, "list-pipelines")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "spaceflights.data_processing.e2e30" in done.stdout
    assert "kak8s_e2e_seed" not in done.stdout  # the server's own DAG, not this project's
