"""upload-pipeline, schedule, list-pipelines and ui run by a user against a real Airflow 3."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, copy_example, dag_spec, kedro

QUIET = str(REPO / "scripts" / "quiet-logging.yml")

FILLERS = """
# Many small DAGs tagged like generated ones, so that list-pipelines has to read several pages.
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

for number in range(105):
    with DAG(
        dag_id=f"filler_{number:03d}",
        schedule=None,
        tags=["generated_with_kedro_airflow_k8s:0.0.0", "kedro_pipeline:filler", "kedro_env:x"],
    ) as dag:
        EmptyOperator(task_id="nothing")
    globals()[dag.dag_id] = dag
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, airflow_server: Any) -> Path:
    project = copy_example(tmp_path_factory.mktemp("commands"))
    conf = project / "conf" / "e2e"
    conf.mkdir()
    (conf / "kedro-airflow-k8s.yaml").write_text(
        f"host: {airflow_server.base_url}\noutput: {airflow_server.dags_folder}\n"
    )
    return project


def _cli(project: Path, airflow_server: Any, *args: str, env: dict[str, str] | None = None) -> Any:
    full = {
        "AIRFLOW_USERNAME": airflow_server.username,
        "AIRFLOW_PASSWORD": airflow_server.password,
        "KEDRO_LOGGING_CONFIG": QUIET,
        **(env or {}),
    }
    return kedro(project, "airflow-k8s", "-e", "e2e", *args, env=full)


def test_upload_pipeline_writes_to_the_configured_output(
    project: Path, airflow_server: Any
) -> None:
    done = _cli(project, airflow_server, "upload-pipeline", "-i", "spaceflights:upload")
    assert done.returncode == 0, done.stderr[-2000:]
    written = airflow_server.dags_folder / "spaceflights___default___e2e.py"
    assert done.stdout.strip().splitlines()[-1] == str(written)
    spec = dag_spec(written)
    assert spec["pod"]["image"] == "spaceflights:upload"
    assert spec["dag"]["schedule"] == "@daily"


def test_schedule_sets_cron_and_name(project: Path, airflow_server: Any, tmp_path: Path) -> None:
    done = _cli(
        project,
        airflow_server,
        "schedule",
        "-o",
        str(tmp_path),
        "-c",
        "15 3 * * MON-FRI",
        "-d",
        "spaceflights-weekdays",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    spec = dag_spec(tmp_path / "spaceflights_weekdays.py")
    assert spec["dag"]["dag_id"] == "spaceflights-weekdays"
    assert spec["dag"]["schedule"] == "15 3 * * MON-FRI"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-c", "61 * * * *"],
            "-c/--cron-expression: '61 * * * *' is not a cron expression: minute field '61': "
            "out of range",
        ),
        (["-c", "@fortnightly"], None),
        (
            ["-d", "bad name!"],
            "-d/--dag-name 'bad name!': a DAG id takes letters, digits, '_', '.' and '-' only",
        ),
    ],
)
def test_schedule_rejects_bad_input_clearly(
    project: Path, airflow_server: Any, tmp_path: Path, args: list[str], message: str | None
) -> None:
    done = _cli(project, airflow_server, "schedule", "-o", str(tmp_path), *args)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1
    if message:
        assert errors == [f"Error: {message}"]
    else:
        assert "is not an Airflow preset" in errors[0]
    assert list(tmp_path.iterdir()) == []


def test_list_pipelines_reads_every_page(project: Path, airflow_server: Any) -> None:
    airflow_server.write_dag("fillers.py", FILLERS)
    done = _cli(project, airflow_server, "upload-pipeline")
    assert done.returncode == 0, done.stderr[-2000:]
    airflow_server.api.request_parse(airflow_server.api.any_file_token())
    airflow_server.api.wait_for_dag("filler_104", timeout=90)
    airflow_server.api.wait_for_dag("spaceflights.__default__.e2e", timeout=90)
    listed = _cli(project, airflow_server, "list-pipelines")
    assert listed.returncode == 0, listed.stderr[-2000:]
    lines = listed.stdout.strip().splitlines()
    assert lines[0].split() == ["DAG", "ID", "PIPELINE", "ENV", "PAUSED", "LAST", "RUN", "COMMIT"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert {f"filler_{n:03d}" for n in range(105)} <= set(rows)
    ours = rows["spaceflights.__default__.e2e"]
    assert ours[1:3] == ["__default__", "e2e"]
    assert "e2e_infra_seed" not in rows  # not made by the plugin


def test_ui_opens_the_dag_page(project: Path, airflow_server: Any, tmp_path: Path) -> None:
    record = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {record}\n')
    browser.chmod(browser.stat().st_mode | stat.S_IEXEC)
    done = _cli(
        project,
        airflow_server,
        "ui",
        "-d",
        "spaceflights.__default__.e2e",
        env={"BROWSER": str(browser)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    url = f"{airflow_server.base_url}/dags/spaceflights.__default__.e2e"
    assert done.stdout.strip().splitlines()[-1] == f"Opened {url}"
    deadline = time.monotonic() + 10
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert record.read_text().strip() == url


def test_ui_prints_the_url_when_no_browser_opens(
    project: Path, airflow_server: Any, tmp_path: Path
) -> None:
    # An empty PATH and a BROWSER that does not exist: no browser can be found.
    env = {"BROWSER": str(tmp_path / "no-such-browser"), "DISPLAY": "", "PATH": str(tmp_path)}
    done = _cli(project, airflow_server, "ui", env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == (
        f"No browser could be opened; the Airflow UI is at {airflow_server.base_url}/"
    )
