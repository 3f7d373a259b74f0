"""The generated artifacts really run a spark group: a real ``spark-submit --master local[1]``.

The spark demo project is compiled for Dataproc with its artifacts in a local folder. Then, as
a Dataproc cluster would: the generated init script unpacks the project archive into
PROJECT_HOME and installs its requirements (with the Python of a virtualenv that has pyspark,
Kedro and the project's requirements, made under .cache/venv-spark); the pod before the group
runs its node; ``spark-submit`` starts the group's generated run script with the job arguments
of the DAG's SPEC; the pod after the group reads the group's output. Spark binds 127.0.0.1 only
and its UI is off.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import dag_spec, kedro, load_runtime
from tests.integration.test_spark_dags import SPARK_TASK, copy_spark_project
from tests.venvs import venv_python

pytestmark = [pytest.mark.slow, pytest.mark.venv("spark")]


@pytest.fixture(scope="module")
def spark_python() -> Path:
    return venv_python("spark")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEDRO_", "PYSPARK", "SPARK"))}
    env.update({"KEDRO_DISABLE_TELEMETRY": "true", **extra})
    return env


def _compile(tmp_path: Path, home: Path) -> dict[str, Any]:
    """Compile the spark demo for Dataproc (artifacts in a local folder, PROJECT_HOME ``home``);
    the DAG's SPEC."""
    project = copy_spark_project(tmp_path)
    done = kedro(
        project,
        "airflow-k8s",
        "compile",
        "-o",
        str(tmp_path / "dags"),
        env={
            "KEDRO_CONFIG_SPARK_ARTIFACTS": str(tmp_path / "artifacts"),
            "KEDRO_CONFIG_SPARK_HOME": str(home),
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dag_spec(next((tmp_path / "dags").glob("*.py")))


def _spark_submit(
    spark_python: Path, script: str, args: list[str], cwd: Path, properties: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``spark-submit --master local[1]`` on loopback, UI off."""
    local = {
        "spark.ui.enabled": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
    }
    return subprocess.run(
        [
            str(spark_python.parent / "spark-submit"),
            "--master",
            "local[1]",
            *(f"--conf={key}={value}" for key, value in {**local, **properties}.items()),
            script,
            *args,
        ],
        cwd=cwd,
        env=_clean_env(
            SPARK_LOCAL_IP="127.0.0.1",
            PYSPARK_PYTHON=str(spark_python),
            PYSPARK_DRIVER_PYTHON=str(spark_python),
        ),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _pod(spark_python: Path, home: Path, node: str) -> None:
    """What the node's pod runs (``kedro run --nodes NODE`` in the project)."""
    done = subprocess.run(
        [str(spark_python), "-m", "kedro", "run", "--nodes", node],
        cwd=home,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_generated_run_script_runs_the_spark_group(tmp_path: Path, spark_python: Path) -> None:
    home = tmp_path / "cluster" / "spark_demo"
    spec = _compile(tmp_path, home)
    project = tmp_path / "spark_demo"
    job = spec["spark"]["jobs"][SPARK_TASK]
    (init_action,) = spec["spark"]["cluster"]["cluster_config"]["initialization_actions"]

    # 1. The cluster's init action (the user's parts log where they ran).
    log = tmp_path / "init.log"
    init = subprocess.run(
        ["bash", init_action["executable_file"]],
        env=_clean_env(KEDRO_PYTHON=str(spark_python), INIT_LOG=str(log)),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert init.returncode == 0, init.stderr[-3000:]
    assert log.read_text().splitlines() == [
        f"spark demo pre-init in {home}",
        "spark demo post-init",
    ]
    assert (home / "src" / "spark_demo" / "pipelines" / "sales.py").exists()
    assert not (home / "data").exists()  # data is never packed

    # 2. The pod before the group (the data lives in the catalog's storage: a shared folder).
    shutil.copytree(project / "data", home / "data")
    _pod(spark_python, home, "clean")

    # 3. The Dataproc job: spark-submit of the run script with the SPEC's arguments, the
    #    --params template rendered as Airflow would for a run without conf.
    runtime = load_runtime()
    args = [
        a if isinstance(a, str) else "--params=" + runtime.kedro_params({}, {}, {})
        for a in job["args"]
    ]
    submit = _spark_submit(
        spark_python,
        job["main_python_file_uri"],
        args,
        tmp_path,
        job["properties"],
    )
    assert submit.returncode == 0, (submit.stdout[-2000:], submit.stderr[-4000:])
    assert (
        "run script: kedro run --env local --pipelines __default__ --nodes "
        "to_spark,sum_by_region --runner ThreadRunner --params= in " + str(home)
    ) in submit.stdout + submit.stderr
    totals = (home / "data" / "03_primary" / "region_totals.csv").read_text().split()
    assert totals == ["region,total", "east,5", "north,17", "south,5"]

    # 4. The pod after the group reads what the spark job wrote.
    _pod(spark_python, home, "report")
    report = json.loads((home / "data" / "08_reporting" / "report.json").read_text())
    assert report == {"east": 5, "north": 17, "south": 5}


def test_a_failing_group_fails_the_job(tmp_path: Path, spark_python: Path) -> None:
    """No input for the group (the pod before it did not run): spark-submit exits non-zero."""
    home = tmp_path / "cluster" / "spark_demo"
    spec = _compile(tmp_path, home)
    job = spec["spark"]["jobs"][SPARK_TASK]
    shutil.unpack_archive(
        spec["spark"]["cluster"]["cluster_config"]["initialization_actions"][0][
            "executable_file"
        ].replace("-init.sh", ".tar.gz"),
        home,
        "gztar",
    )
    args = [a for a in job["args"] if isinstance(a, str)]
    submit = _spark_submit(spark_python, job["main_python_file_uri"], args, tmp_path, {})
    assert submit.returncode != 0
    assert "clean_sales" in submit.stdout + submit.stderr  # Kedro names the missing dataset
