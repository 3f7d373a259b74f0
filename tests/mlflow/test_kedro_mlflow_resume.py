"""What the design relies on, checked with real ``kedro run`` processes (no Airflow): kedro-mlflow
2.x resumes the run named by MLFLOW_RUN_ID instead of starting one, so separate ``kedro run
--nodes ...`` processes (the pods of one DAG run) all log into the run the DAG started; and MLflow
refuses that run when kedro-mlflow's experiment is another one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s.features.mlflow.settings import read_mlflow_settings
from kedro_airflow_k8s.runtime.mlflow_run import MLFLOW_TAG_DAG_ID, mlflow_start_run
from tests.helpers import REPO, copy_example, kedro
from tests.mlflow.overlay import EXPERIMENT, apply_mlflow_overlay
from tests.mlflow.server import require_mlflow

# Kedro's own use of an OmegaConf API deprecated upstream.
pytestmark = pytest.mark.filterwarnings(r"ignore:register_new_resolver\(\) is deprecated")

ENV = "mlflowtest"
DAG_ID = f"spaceflights.__default__.{ENV}"
QUIET = str(REPO / "scripts" / "quiet-logging.yml")
MODELLING = ",".join(
    f"active_modelling_pipeline.{node}"
    for node in ("split_data_node", "train_model_node", "evaluate_model_node")
)


@pytest.fixture
def project(tmp_path: Path, mlflow_server: Any) -> Path:
    require_mlflow("kedro_mlflow")
    project = copy_example(tmp_path, git=False)
    apply_mlflow_overlay(project, ENV, mlflow_server.url)
    return project


def _spec(project: Path) -> dict[str, Any]:
    """SPEC["mlflow"] as the lead builds it from the project's settings."""
    from kedro.config import OmegaConfigLoader

    loader = OmegaConfigLoader(
        conf_source=str(project / "conf"), base_env="base", default_run_env="local", env=ENV
    )
    settings = read_mlflow_settings(loader, package_name="spaceflights")
    assert settings is not None
    return {
        "tracking_uri": settings.tracking_uri,
        "experiment_name": settings.experiment_name,
        "auth": {"type": "Null", "params": []},
        "run_name": DAG_ID,
        "image": "spaceflights:test",
    }


def _kedro_run(project: Path, mlflow_run_id: str, *args: str) -> Any:
    env = {"MLFLOW_RUN_ID": mlflow_run_id, "KEDRO_LOGGING_CONFIG": QUIET}
    return kedro(project, "run", "--env", ENV, *args, env=env)


def test_separate_kedro_runs_log_into_the_run_named_by_mlflow_run_id(
    project: Path, mlflow_server: Any, mlflow_client: Any
) -> None:
    from mlflow.entities import ViewType

    spec = _spec(project)
    assert (spec["tracking_uri"], spec["experiment_name"]) == (mlflow_server.url, EXPERIMENT)
    run_id = mlflow_start_run(spec, DAG_ID, "manual__resume")

    first = _kedro_run(project, run_id, "--pipelines", "data_processing")
    assert first.returncode == 0, first.stderr[-3000:]
    second = _kedro_run(project, run_id, "--nodes", MODELLING)
    assert second.returncode == 0, second.stderr[-3000:]

    experiment = mlflow_client.get_experiment_by_name(EXPERIMENT)
    runs = mlflow_client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL)
    assert [r.info.run_id for r in runs] == [run_id]  # no run of their own
    run = mlflow_client.get_run(run_id)
    assert run.data.tags[MLFLOW_TAG_DAG_ID] == DAG_ID  # the DAG's tags are kept
    assert "kedro_command" in run.data.tags  # kedro-mlflow was there
    assert "test_size" in run.data.params["active_modelling_pipeline.model_options"]
    artifacts = [a.path for a in mlflow_client.list_artifacts(run_id, "active_modelling_pipeline")]
    assert artifacts == ["active_modelling_pipeline/metrics.json"]
    # kedro-mlflow ends the run and renames it after the pipeline in every process: the DAG's end
    # task sets the status and the name again once every pod is done.
    assert (run.info.status, run.info.run_name) == ("FINISHED", "__default__")


def test_kedro_mlflow_refuses_a_run_of_another_experiment(
    project: Path, mlflow_client: Any
) -> None:
    """Why SPEC["mlflow"]["experiment_name"] must be kedro-mlflow's experiment."""
    spec = {**_spec(project), "experiment_name": "spaceflights"}  # run_config.experiment_name
    run_id = mlflow_start_run(spec, DAG_ID, "manual__mismatch")
    done = _kedro_run(project, run_id, "--pipelines", "data_processing")
    assert done.returncode != 0
    assert "does not match environment run ID" in " ".join(done.stderr.split())
