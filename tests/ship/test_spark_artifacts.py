"""Spark artifacts travel with the DAG: ``upload-pipeline`` of the spark demo puts the init
script, project archive and run script in ``gs://`` (a loopback gcp-storage-emulator) before the
DAG, and the DAG reads them from there; when they cannot be written, no DAG is written."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from tests.helpers import dag_spec, kedro
from tests.integration.test_spark_dags import SPARK_TASK, copy_spark_project
from tests.ship.conftest import GCS_BUCKET
from tests.ship.test_gcs import reader


def test_upload_pipeline_ships_the_artifacts_to_gcs(
    gcs_env: None, gcs_emulator: str, tmp_path: Path
) -> None:
    project = copy_spark_project(tmp_path)
    done = kedro(
        project,
        "airflow-k8s",
        "upload-pipeline",
        "-o",
        f"gs://{GCS_BUCKET}/dags",
        env={
            "STORAGE_EMULATOR_HOST": gcs_emulator,
            "KEDRO_CONFIG_SPARK_ARTIFACTS": f"gs://{GCS_BUCKET}/spark-artifacts",
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    fs = reader(gcs_emulator)
    (dag_object,) = fs.find(f"{GCS_BUCKET}/dags")
    dag_file = tmp_path / "dag.py"
    dag_file.write_bytes(fs.cat_file(dag_object))
    spark = dag_spec(dag_file)["spark"]

    artifacts = sorted(fs.find(f"{GCS_BUCKET}/spark-artifacts"))
    assert len(artifacts) == 3
    init_url = spark["cluster"]["cluster_config"]["initialization_actions"][0]["executable_file"]
    run_url = spark["jobs"][SPARK_TASK]["main_python_file_uri"]
    assert {f"gs://{name}" for name in artifacts} >= {init_url, run_url}
    for name in artifacts:
        assert f"Spark artifact: gs://{name}" in done.stderr

    init = fs.cat_file(init_url[len("gs://") :]).decode()
    (archive_name,) = [name for name in artifacts if name.endswith(".tar.gz")]
    assert f"gsutil -q cp gs://{archive_name} " in init
    with tarfile.open(fileobj=io.BytesIO(fs.cat_file(archive_name))) as archive:
        assert "src/spark_demo/pipelines/sales.py" in archive.getnames()
    assert "def main(" in fs.cat_file(run_url[len("gs://") :]).decode()


def test_no_dag_when_the_artifacts_cannot_be_written(tmp_path: Path) -> None:
    project = copy_spark_project(tmp_path)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the artifacts folder should be\n")
    dags = tmp_path / "dags"
    done = kedro(
        project,
        "airflow-k8s",
        "compile",
        "-o",
        str(dags),
        env={"KEDRO_CONFIG_SPARK_ARTIFACTS": str(blocked)},
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: cannot write ") and str(blocked) in last, last
    assert "Traceback" not in done.stderr
    assert not dags.exists() or not any(dags.iterdir())
