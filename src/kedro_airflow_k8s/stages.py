"""The flow in order — project → plan → render → write — for the CLI's commands to call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro_airflow_k8s.config.models import RunConfig
from kedro_airflow_k8s.plan import GroupBy, PlanOptions, TaskPlan, build_plan
from kedro_airflow_k8s.project import LoadedProject, load_project
from kedro_airflow_k8s.render import DagContext, build_spec, dag_file_name, render_dag
from kedro_airflow_k8s.ship import write_local_atomic


@dataclass(frozen=True)
class CompiledDag:
    """One pipeline's DAG: the plan, the SPEC and the file text."""

    dag_id: str
    file_name: str
    plan: TaskPlan
    spec: dict[str, Any]
    source: str


def load(project_path: Path, env: str, pipelines: tuple[str, ...]) -> LoadedProject:
    return load_project(project_path, env, pipelines)


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
) -> CompiledDag:
    snapshot, run_config = loaded.snapshot, loaded.config.run_config
    plan = build_plan(
        snapshot.pipelines[pipeline], snapshot.datasets, plan_options(run_config, group_by)
    )
    context = DagContext(
        project_name=snapshot.project_name,
        package_name=snapshot.package_name,
        pipeline=pipeline,
        env=snapshot.env,
        commit_sha=snapshot.commit_sha,
    )
    spec = build_spec(plan, run_config, context, image=image, dag_id=dag_id)
    dag_id = spec["dag"]["dag_id"]
    return CompiledDag(dag_id, dag_file_name(dag_id), plan, spec, render_dag(spec))


def write_dag(compiled: CompiledDag, folder: Path) -> Path:
    return write_local_atomic(folder / compiled.file_name, compiled.source)


def summary(compiled: CompiledDag) -> str:
    """A short human summary of what the DAG runs."""
    rows = [("task", "pod", "nodes", "profile")]
    for task in compiled.plan.tasks:
        rows.append(
            (task.full_task_id, task.pod_name, ",".join(task.nodes), task.resource_profile or "-")
        )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"DAG {compiled.dag_id}: {len(compiled.plan.tasks)} pod tasks"]
    for row in rows:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3])
    return "\n".join(lines)
