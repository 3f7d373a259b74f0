"""The compile side of spark groups: the SPEC's ``spark`` section, the jobs' artifacts, the
custom factory's operators and the warnings.

The modules that do the work (:mod:`.spec`, :mod:`.artifacts`, :mod:`.custom`) are imported when
the config has a ``spark`` section.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from kedro_airflow_k8s.features.api import Artifacts, Feature, SectionInputs
from kedro_airflow_k8s.features.local.config import EXECUTION_LOCAL

if TYPE_CHECKING:
    from kedro_airflow_k8s.config.models import RunConfig
    from kedro_airflow_k8s.plan.model import TaskPlan
    from kedro_airflow_k8s.project import LoadedProject
    from kedro_airflow_k8s.runtime.spec import DagSpec, SparkSpec

SPEC_KEY: Final = "spark"


def spark_warnings(
    run_config: RunConfig, spark_spec: SparkSpec, artifacts: Artifacts | None
) -> list[str]:
    """What the spark jobs do not get of the config, and artifacts Dataproc cannot read."""
    from kedro_airflow_k8s.features.spark.spec import k8s_warnings

    out: list[str] = []
    if spark_spec["type"] == "k8s":
        out += k8s_warnings(run_config)
    if (
        spark_spec["type"] == "dataproc"
        and artifacts
        and not artifacts.destination.startswith(("gs://", "gcs://"))
    ):
        out.append(
            f"run_config.spark.artifacts_path {artifacts.destination!r}: Dataproc reads init "
            "actions and job files from gs:// only"
        )
    if run_config.volume is not None and not run_config.volume.disabled:
        out.append(
            "run_config.volume: the spark jobs do not mount the run's volume; pass data between "
            "pods and spark groups through the catalog's remote storage"
        )
    return out


class SparkFeature(Feature):
    spec_key = SPEC_KEY
    runtime_module = "spark"
    extension = "SparkExtension(untemplated)"
    code_extension = "SparkExtension(untemplated, CUSTOM_SPARK_OPERATORS)"

    def artifacts(self, loaded: LoadedProject, plan: TaskPlan) -> Artifacts | None:
        run_config = loaded.config.run_config
        if run_config.spark is None or run_config.execution == EXECUTION_LOCAL:
            return None  # local execution: every task a local `kedro run`, nothing to upload
        from kedro_airflow_k8s.features.spark.artifacts import build_spark_artifacts

        return build_spark_artifacts(loaded, plan)

    def section(self, inputs: SectionInputs) -> SparkSpec | None:
        """None without ``run_config.spark`` or without a spark group in the plan."""
        if inputs.run_config.spark is None:
            return None
        from kedro_airflow_k8s.features.spark.artifacts import SparkArtifacts
        from kedro_airflow_k8s.features.spark.spec import (
            SparkArtifactUrls,
            default_project_home,
            spark_spec,
        )

        made = inputs.artifacts.get(SPEC_KEY)
        urls = made.urls if isinstance(made, SparkArtifacts) else None
        context = inputs.context
        return spark_spec(
            inputs.plan,
            inputs.run_config,
            env=context.env,
            pipeline=context.pipeline,
            run_name=inputs.run_name,
            image=inputs.image,
            urls=urls or SparkArtifactUrls(default_project_home(context.package_name)),
            params=inputs.params,
            free_id=inputs.taken.claim,
        )

    def warnings(
        self, spec: DagSpec, loaded: LoadedProject, artifacts: Artifacts | None
    ) -> list[str]:
        section = spec.get("spark")
        return spark_warnings(loaded.config.run_config, section, artifacts) if section else []

    def code(
        self,
        spec: DagSpec,
        loaded: LoadedProject,
        plan: TaskPlan,
        artifacts: Artifacts | None,
    ) -> str | None:
        """``type: custom``: the factory's operators (``CUSTOM_SPARK_OPERATORS``)."""
        section = spec.get("spark")
        if not section or section["type"] != "custom":
            return None
        from kedro_airflow_k8s.features.spark.artifacts import SparkArtifacts
        from kedro_airflow_k8s.features.spark.custom import custom_operators_source
        from kedro_airflow_k8s.features.spark.project_files import load_operator_factory
        from kedro_airflow_k8s.render.dag import params_template

        spark = loaded.config.run_config.spark
        assert spark is not None and spark.operator_factory  # the config requires a factory
        assert isinstance(artifacts, SparkArtifacts) and artifacts.urls
        return custom_operators_source(
            load_operator_factory(spark.operator_factory),
            section,
            plan,
            project_name=loaded.snapshot.project_name,
            env=loaded.snapshot.env,
            pipeline=plan.pipeline,
            urls=artifacts.urls,
            params=params_template(loaded.config.run_config),
            runner=spark.runner,
            cluster_config=spark.cluster_config,
            spark_conf=spark.conf,
        )


FEATURE = SparkFeature()
