"""The flow in order — project → plan → render → write — for the CLI's commands to call."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kedro_airflow_k8s.collector import collector_paused
from kedro_airflow_k8s.compiled import CompiledDag, check_distinct_dags
from kedro_airflow_k8s.config.models import RunConfig
from kedro_airflow_k8s.deadline import Deadline
from kedro_airflow_k8s.features.registry import FEATURES
from kedro_airflow_k8s.names import dag_file_name
from kedro_airflow_k8s.plan import (
    PlanOptions,
    TaskPlan,
    build_plan,
    format_table,
    format_totals,
    group_by_strategies,
)
from kedro_airflow_k8s.project import LoadedProject, load_project
from kedro_airflow_k8s.render import DagContext, build_spec, render_dag
from kedro_airflow_k8s.render.dag import UNSET, Unset
from kedro_airflow_k8s.ship import upload_files, write_local_files


def load(
    project_path: Path, env: str, pipelines: tuple[str, ...], metadata: Any = None
) -> LoadedProject:
    return load_project(project_path, env, pipelines, metadata)


def plan_pipeline(
    loaded: LoadedProject, pipeline: str, group_by: Sequence[str] | None = None
) -> TaskPlan:
    snapshot, run_config = loaded.snapshot, loaded.config.run_config
    options = plan_options(run_config, group_by)
    return build_plan(snapshot.pipelines[pipeline], snapshot.datasets, options)


def plan_options(run_config: RunConfig, group_by: Sequence[str] | None = None) -> PlanOptions:
    """The plan's options from ``run_config``; ``group_by``: strategies that replace its own."""
    tags = run_config.node_tags
    return PlanOptions(
        resources_tag_prefix=tags.resources_prefix,
        machine_tag_prefix=tags.machine_prefix,
        k8s_template_tag_prefix=tags.k8s_template_prefix,
        group_tag_prefix=tags.group_prefix,
        spark_tag=tags.pyspark,
        group_by=group_by_strategies(group_by or run_config.group_by),
        group_spark_nodes=run_config.group_spark_nodes,
        detect_spark=run_config.detect_spark,
        namespace_task_groups=run_config.namespace_task_groups,
        persist_memory=run_config.in_memory is not None,
        resource_profiles=frozenset(run_config.resources),
        pod_templates=frozenset(run_config.kubernetes_pod_templates),
    )


def compile_pipeline(
    loaded: LoadedProject,
    pipeline: str,
    *,
    image: str | None = None,
    dag_id: str | None = None,
    group_by: Sequence[str] | None = None,
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
        project_path=snapshot.project_path,
    )
    made = {f.spec_key: a for f in FEATURES if (a := f.artifacts(loaded, plan)) is not None}
    with collector_paused():  # see kedro_airflow_k8s.collector
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
            artifacts=made,
        )
        dag_id = spec["dag"]["dag_id"]
        notes = [n for f in FEATURES for n in f.warnings(spec, loaded, made.get(f.spec_key))]
        if not plan.tasks:
            notes.append(f"pipeline {pipeline!r} has no nodes: its DAG {dag_id} runs no Kedro node")
        code = {}  # spec key -> the feature's code before the SPEC
        for feature in FEATURES:
            text = feature.code(spec, loaded, plan, made.get(feature.spec_key))
            if text:
                code[feature.spec_key] = text
        source = render_dag(spec, code)
    return CompiledDag(dag_id, dag_file_name(dag_id), plan, spec, source, tuple(notes), made)


def compile_pipelines(
    loaded: LoadedProject, pipelines: Sequence[str], **options: Any
) -> list[CompiledDag]:
    """Compile every pipeline (nothing is written yet); DAGs that would collide are an error."""
    compiled = [compile_pipeline(loaded, name, **options) for name in pipelines]
    check_distinct_dags(compiled)
    return compiled


def ship_artifacts(compiled: CompiledDag, *, deadline: Deadline | None = None) -> dict[str, str]:
    """Upload the features' artifacts (before the DAG that reads them); name -> where written."""
    written: dict[str, str] = {}
    for artifacts in compiled.artifacts.values():
        if artifacts.files:
            written.update(upload_files(artifacts.destination, artifacts.files, deadline=deadline))
    return written


def write_dag(compiled: CompiledDag, folder: Path) -> Path:
    """Write the DAG file into a local folder (the same path and errors as a local upload)."""
    return write_local_files(folder, {compiled.file_name: compiled.source})[compiled.file_name]


SUMMARY_TABLE_MAX = 100  # tasks: a larger plan is summed up in its totals


def summary(compiled: CompiledDag) -> str:
    """What the DAG runs: its id and the plan table (tasks, nodes, kind, profile, template);
    for a plan of more than ``SUMMARY_TABLE_MAX`` tasks its totals and warnings only."""
    plan = compiled.plan
    title = f"DAG {compiled.dag_id}"
    notes = [note for f in FEATURES if (note := f.summary_note(compiled.spec))]
    if notes:
        title += f" ({'; '.join(notes)})"
    if len(plan.tasks) <= SUMMARY_TABLE_MAX:
        return f"{title}\n{format_table(plan)}"
    return f"{title} (compile --explain prints the table of its tasks)\n{format_totals(plan)}"
