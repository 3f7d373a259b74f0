"""The flow in order — project → plan → render → write — for the CLI's commands to call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro_airflow_k8s.config.models import RunConfig
from kedro_airflow_k8s.plan import GroupBy, PlanOptions, TaskPlan, build_plan, format_table
from kedro_airflow_k8s.project import LoadedProject, load_project
from kedro_airflow_k8s.render import DagContext, build_spec, dag_file_name, render_dag
from kedro_airflow_k8s.render.dag import UNSET, Unset
from kedro_airflow_k8s.ship import write_local_atomic


@dataclass(frozen=True)
class CompiledDag:
    """One pipeline's DAG: the plan, the SPEC and the file text."""

    dag_id: str
    file_name: str
    plan: TaskPlan
    spec: dict[str, Any]
    source: str
    warnings: tuple[str, ...] = ()


def load(project_path: Path, env: str, pipelines: tuple[str, ...]) -> LoadedProject:
    return load_project(project_path, env, pipelines)


def plan_pipeline(loaded: LoadedProject, pipeline: str, group_by: str | None = None) -> TaskPlan:
    snapshot, run_config = loaded.snapshot, loaded.config.run_config
    options = plan_options(run_config, group_by)
    return build_plan(snapshot.pipelines[pipeline], snapshot.datasets, options)


def plan_options(run_config: RunConfig, group_by: str | None = None) -> PlanOptions:
    tags = run_config.node_tags
    return PlanOptions(
        resources_tag_prefix=tags.resources_prefix,
        machine_tag_prefix=tags.machine_prefix,
        k8s_template_tag_prefix=tags.k8s_template_prefix,
        group_tag_prefix=tags.group_prefix,
        spark_tag=tags.pyspark,
        group_by=GroupBy(group_by or run_config.group_by),
        group_spark_nodes=run_config.group_spark_nodes,
        detect_spark=run_config.detect_spark,
        namespace_task_groups=run_config.namespace_task_groups,
        resource_profiles=frozenset(run_config.resources),
        pod_templates=frozenset(run_config.kubernetes_pod_templates),
    )


def compile_pipeline(
    loaded: LoadedProject,
    pipeline: str,
    *,
    image: str | None = None,
    dag_id: str | None = None,
    group_by: str | None = None,
    schedule: str | Unset | None = UNSET,
    extra_tags: tuple[str, ...] = (),
    with_external_dependencies: bool = True,
) -> CompiledDag:
    snapshot, run_config = loaded.snapshot, loaded.config.run_config
    plan = plan_pipeline(loaded, pipeline, group_by)
    context = DagContext(
        project_name=snapshot.project_name,
        package_name=snapshot.package_name,
        pipeline=pipeline,
        env=snapshot.env,
        commit_sha=snapshot.commit_sha,
    )
    spec = build_spec(
        plan,
        run_config,
        context,
        image=image,
        dag_id=dag_id,
        schedule=schedule,
        extra_tags=extra_tags,
        with_external_dependencies=with_external_dependencies,
        mlflow=loaded.mlflow,
    )
    dag_id = spec["dag"]["dag_id"]
    notes = tuple(loaded.mlflow.warnings()) if spec["mlflow"] and loaded.mlflow else ()
    return CompiledDag(dag_id, dag_file_name(dag_id), plan, spec, render_dag(spec), notes)


def write_dag(compiled: CompiledDag, folder: Path) -> Path:
    return write_local_atomic(folder / compiled.file_name, compiled.source)


def summary(compiled: CompiledDag) -> str:
    """What the DAG runs: its id and the plan table (tasks, nodes, kind, profile, template)."""
    return f"DAG {compiled.dag_id}\n{format_table(compiled.plan)}"
