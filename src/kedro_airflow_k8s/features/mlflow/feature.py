"""The compile side of MLflow: the SPEC's ``mlflow`` section (one MLflow run per DAG run, made
by ``runtime/mlflow_run.py``) and the warnings about the project's kedro-mlflow settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from kedro_airflow_k8s.features.api import Artifacts, Feature, SectionInputs

if TYPE_CHECKING:
    from kedro_airflow_k8s.config.models import RunConfig
    from kedro_airflow_k8s.features.mlflow.settings import MlflowSettings
    from kedro_airflow_k8s.names import Names
    from kedro_airflow_k8s.project import LoadedProject
    from kedro_airflow_k8s.render.dag import DagContext
    from kedro_airflow_k8s.runtime.spec import DagSpec, MlflowSpec

SPEC_KEY: Final = "mlflow"


def mlflow_spec(
    settings: MlflowSettings | None,
    run_config: RunConfig,
    context: DagContext,
    *,
    dag_id: str,
    image: str,
    taken: Names,
) -> MlflowSpec | None:
    """One MLflow run per DAG run, when the project uses kedro-mlflow for this pipeline.

    The experiment is kedro-mlflow's (mlflow.yml, default the package name): MLflow refuses to
    resume a run from another experiment in the pods."""
    if settings is None or settings.tracking_disabled_for(context.pipeline):
        return None
    return {
        "tracking_uri": settings.tracking_uri,
        "experiment_name": settings.experiment_name or context.package_name,
        "artifact_location": settings.artifact_location,
        "experiment_tags": dict(settings.experiment_tags),
        "auth": {
            "type": run_config.authentication.type,
            "params": list(run_config.authentication.params),
        },
        "task_id": taken.claim("start_mlflow_run"),
        "end_task_id": taken.claim("end_mlflow_run"),
        "run_name": dag_id,
        "image": image,
    }


class MlflowFeature(Feature):
    spec_key = SPEC_KEY
    runtime_module = "mlflow_run"
    extension = "MlflowExtension"

    def section(self, inputs: SectionInputs) -> MlflowSpec | None:
        return mlflow_spec(
            inputs.mlflow,
            inputs.run_config,
            inputs.context,
            dag_id=inputs.dag_id,
            image=inputs.image,
            taken=inputs.taken,
        )

    def warnings(
        self, spec: DagSpec, loaded: LoadedProject, artifacts: Artifacts | None
    ) -> list[str]:
        """What the kedro-mlflow settings get wrong for a DAG (when the DAG has its MLflow run)."""
        return loaded.mlflow.warnings() if spec.get("mlflow") and loaded.mlflow else []


FEATURE = MlflowFeature()
