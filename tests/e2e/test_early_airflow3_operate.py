"""The operate commands on real Airflow servers of the early 3.x releases the plugin supports:
3.0.0, the oldest (its own virtualenv from requirements/airflow-3.0-server.txt, resolved as of the
release, since newer FastAPI releases break its API server), and 3.1.7, the last before 3.1.8
(the matrix cell's virtualenv). Both ignore the ``bundle_name`` filter of the DAG list and the
``filename_pattern`` filter of the import errors, which the plugin then applies itself. Another
DAG file with an import error is found in the same folder during the wait: run-once must neither
take it for its own DAG's error nor miss its own DAG's parse. The pods run in the Kubernetes API
emulator's test kubelet, as on Airflow 3.3.2."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, copy_example, kedro
from tests.venvs import venv_python

# Airflow version -> the helper virtualenv that serves it
SERVERS = {"3.0.0": "airflow-3.0-server", "3.1.7": "airflow-3.1.7-newest"}
pytestmark = [
    pytest.mark.e2e,
    *(pytest.mark.venv(name) for name in SERVERS.values()),
    pytest.mark.slow,
]

QUIET = str(REPO / "scripts" / "quiet-logging.yml")
BROKEN = "someone_elses_broken_dag.py"


@pytest.fixture(scope="module", params=sorted(SERVERS))
def early_airflow(request: pytest.FixtureRequest, airflow_server_factory: Any) -> Iterator[Any]:
    python = venv_python(SERVERS[request.param])
    server = airflow_server_factory(airflow_bin=python.parent / "airflow")
    server.env_name = "e2e" + request.param.replace(".", "")
    version = server.cli("version")
    assert version.returncode == 0 and version.stdout.strip() == request.param, version
    (server.dags_folder / BROKEN).write_text(  # "airflow" and "DAG" in it: a DAG file candidate
        "from airflow.sdk import DAG\n\nraise ImportError('not this project DAG')\n"
    )
    done = server.cli("variables", "set", "AWS_DEFAULT_REGION", "eu-central-1")
    assert done.returncode == 0, done.stderr[-2000:]
    yield server
    server.stop()  # before the next version's starts (the factory stops it again at the end)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, early_airflow: Any) -> Path:
    project = copy_example(tmp_path_factory.mktemp("early-airflow"))
    conf = project / "conf" / early_airflow.env_name
    conf.mkdir()
    (conf / "kedro-airflow-k8s.yaml").write_text(
        f"host: {early_airflow.base_url}\n"
        f"output: {early_airflow.dags_folder}\n"
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
    return kedro(
        project, "airflow-k8s", "-e", server.env_name, "-p", "data_processing", *args, env=env
    )


def test_run_once_on_early_airflow_3_runs_to_success(
    project: Path, early_airflow: Any, kube_emulator: Any
) -> None:
    with kube_emulator.configured(workdir=project):
        done = _cli(project, early_airflow, "run-once", "--wait-for-completion", "10")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "succeeded" in done.stdout
    assert BROKEN not in done.stdout + done.stderr  # another file's import error is not ours
    assert (project / "data" / "03_primary" / "model_input_table.parquet").is_file()
    runs = kube_emulator.runs_with_labels(
        dag_id=f"spaceflights.data_processing.{early_airflow.env_name}"
    )
    assert len(runs) >= 1
    # the parse run-once asked for rescanned the folder: the other file's error was there
    errors = [e["filename"] for e in early_airflow.api.import_errors()]
    assert any(name.endswith(BROKEN) for name in errors), errors


def test_list_pipelines_on_early_airflow_3_shows_only_the_projects_dags(
    project: Path, early_airflow: Any
) -> None:
    done = _cli(project, early_airflow, "list-pipelines")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"spaceflights.data_processing.{early_airflow.env_name}" in done.stdout
    assert "kak8s_e2e_seed" not in done.stdout  # the server's own DAG, not this project's
