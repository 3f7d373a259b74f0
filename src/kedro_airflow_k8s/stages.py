"""The flow in order — project → plan → render → write — for the CLI's commands to call."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro_airflow_k8s import __version__
from kedro_airflow_k8s.collector import collector_paused
from kedro_airflow_k8s.config.models import RunConfig
from kedro_airflow_k8s.deadline import Deadline
from kedro_airflow_k8s.errors import PluginError
from kedro_airflow_k8s.names import artifact_name, dag_file_name
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
from kedro_airflow_k8s.render.dag import UNSET, Unset, params_template, runtime_source
from kedro_airflow_k8s.render.local import is_local
from kedro_airflow_k8s.runtime.spec import DagSpec, SparkSpec
from kedro_airflow_k8s.ship import parse_destination, upload_files, write_local_files

if TYPE_CHECKING:  # the spark modules are imported when a project configures spark
    from kedro_airflow_k8s.render.spark import SparkArtifactUrls


@dataclass(frozen=True)
class SparkArtifacts:
    """Files the spark jobs read, to upload (before the DAG) to ``destination``."""

    destination: str
    files: dict[str, bytes] = field(default_factory=dict)
    urls: SparkArtifactUrls | None = None


@dataclass(frozen=True)
class CompiledDag:
    """One pipeline's DAG: the plan, the SPEC, the file text and the spark artifacts."""

    dag_id: str
    file_name: str
    plan: TaskPlan
    spec: DagSpec
    source: str
    warnings: tuple[str, ...] = ()
    artifacts: SparkArtifacts | None = None


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
    local = is_local(run_config)  # every task a local `kedro run`: no spark artifacts
    artifacts = None if local else build_spark_artifacts(loaded, plan, pipeline)
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
            spark_urls=artifacts.urls if artifacts else None,
        )
        dag_id = spec["dag"]["dag_id"]
        local_section = spec.get("local")
        notes = list(local_section["warnings"]) if local_section else []
        notes += list(loaded.mlflow.warnings()) if spec["mlflow"] and loaded.mlflow else []
        if not plan.tasks:
            notes.append(f"pipeline {pipeline!r} has no nodes: its DAG {dag_id} runs no Kedro node")
        custom = None
        if spec["spark"]:
            notes += spark_warnings(run_config, spec["spark"], artifacts)
            if spec["spark"]["type"] == "custom":
                custom = _custom_source(loaded, plan, pipeline, spec, artifacts)
        source = render_dag(spec, custom)
    return CompiledDag(dag_id, dag_file_name(dag_id), plan, spec, source, tuple(notes), artifacts)


def compile_pipelines(
    loaded: LoadedProject, pipelines: Sequence[str], **options: Any
) -> list[CompiledDag]:
    """Compile every pipeline (nothing is written yet); DAGs that would collide are an error."""
    compiled = [compile_pipeline(loaded, name, **options) for name in pipelines]
    check_distinct_dags(compiled)
    return compiled


def check_distinct_dags(compiled: Sequence[CompiledDag]) -> None:
    """Refuse two pipelines whose DAGs get one id or one file (names the sanitiser maps to the
    same text, or file names differing only in case, one file on case-insensitive systems)."""
    ids: dict[str, CompiledDag] = {}
    files: dict[str, CompiledDag] = {}
    for one in compiled:
        other = ids.setdefault(one.dag_id, one)
        if other.plan.pipeline != one.plan.pipeline:
            raise PluginError(
                f"pipelines {other.plan.pipeline!r} and {one.plan.pipeline!r} would both get DAG "
                f"id {one.dag_id!r}: rename one of them in the pipeline registry"
            )
        other = files.setdefault(one.file_name.casefold(), one)
        if other.plan.pipeline != one.plan.pipeline:
            where = (
                f"DAG file {one.file_name!r}"
                if other.file_name == one.file_name
                else f"DAG files {other.file_name!r} and {one.file_name!r}, one file where "
                "names ignore case"
            )
            raise PluginError(
                f"pipelines {other.plan.pipeline!r} and {one.plan.pipeline!r} would both be "
                f"written to {where}: rename one of them in the pipeline registry"
            )


def _custom_source(
    loaded: LoadedProject,
    plan: TaskPlan,
    pipeline: str,
    spec: DagSpec,
    artifacts: SparkArtifacts | None,
) -> str:
    from kedro_airflow_k8s.render.spark import custom_operators_source
    from kedro_airflow_k8s.spark_project import load_operator_factory

    spark = loaded.config.run_config.spark
    spark_spec = spec.get("spark")
    assert spark is not None and spark.operator_factory and artifacts and artifacts.urls
    assert spark_spec is not None  # a custom factory makes the spark section
    return custom_operators_source(
        load_operator_factory(spark.operator_factory),
        spark_spec,
        plan,
        project_name=loaded.snapshot.project_name,
        env=loaded.snapshot.env,
        pipeline=pipeline,
        urls=artifacts.urls,
        params=params_template(loaded.config.run_config),
        runner=spark.runner,
        cluster_config=spark.cluster_config,
        spark_conf=spark.conf,
    )


def spark_warnings(
    run_config: RunConfig, spark_spec: SparkSpec, artifacts: SparkArtifacts | None
) -> list[str]:
    from kedro_airflow_k8s.render.spark import k8s_warnings

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


def build_spark_artifacts(
    loaded: LoadedProject, plan: TaskPlan, pipeline: str
) -> SparkArtifacts | None:
    """The init script, project archive and per-group run scripts of the plan's spark groups,
    named ``<package>-<commit>-<content hash>...`` so versions never overwrite each other.

    None when spark groups run as pods, or (``k8s``) when the run script is in the image."""
    snapshot, run_config = loaded.snapshot, loaded.config.run_config
    spark = run_config.spark
    if spark is None:
        return None
    from kedro_airflow_k8s.render.spark import (
        SparkArtifactUrls,
        default_project_home,
        init_script_text,
        run_script_text,
        spark_tasks,
    )
    from kedro_airflow_k8s.spark_project import project_archive, read_user_script

    tasks = spark_tasks(plan)
    if not tasks:
        return None
    home = spark.project_home or default_project_home(snapshot.package_name)
    if spark.type == "k8s" and spark.run_script:
        return SparkArtifacts(destination="", urls=SparkArtifactUrls(home))
    assert spark.artifacts_path  # the config requires it for every other case
    project = Path(snapshot.project_path)
    commit = re.sub(r"[^A-Za-z0-9]", "", snapshot.commit_sha or "")[:12] or "nocommit"
    files: dict[str, bytes] = {}
    user_init = read_user_script(project, spark.user_init_path, "run_config.spark.user_init_path")
    user_post = read_user_script(
        project, spark.user_post_init_path, "run_config.spark.user_post_init_path"
    )
    # dataproc and custom start a cluster from the archive and init script; k8s has an image
    cluster_files = spark.type != "k8s"
    archive = project_archive(project, snapshot.env) if cluster_files else b""
    content = hashlib.sha256()
    for part in (archive, __version__, home, spark.runner, user_init or "", user_post or ""):
        content.update(part if isinstance(part, bytes) else part.encode())
        content.update(b"\0")
    prefix = f"{snapshot.package_name}-{commit}-{content.hexdigest()[:10]}"
    destination = parse_destination(spark.artifacts_path)
    urls: dict[str, str] = {}
    if cluster_files:
        archive_name, init_name = f"{prefix}.tar.gz", f"{prefix}-init.sh"
        files[archive_name] = archive
        urls["archive"] = destination.url(archive_name)
        init = init_script_text(
            project_name=snapshot.project_name,
            commit=snapshot.commit_sha or "unknown",
            project_home=home,
            archive_url=urls["archive"],
            user_init=user_init,
            user_post_init=user_post,
        )
        files[init_name] = init.encode()
        urls["init"] = destination.url(init_name)
    run_scripts: dict[str, str] = {}
    for task in tasks:
        name = f"{prefix}-{artifact_name(task.full_task_id)}.py"
        text = run_script_text(
            runtime_source("spark_run"),
            project_name=snapshot.project_name,
            commit=snapshot.commit_sha or "unknown",
            project_home=home,
            env=snapshot.env,
            pipeline=pipeline,
            nodes=task.nodes,
            runner=spark.runner,
        )
        files[name] = text.encode()
        run_scripts[task.full_task_id] = destination.url(name)
    return SparkArtifacts(
        destination=spark.artifacts_path,
        files=files,
        urls=SparkArtifactUrls(
            project_home=home,
            init_script=urls.get("init"),
            project_archive=urls.get("archive"),
            run_scripts=run_scripts,
        ),
    )


def ship_artifacts(compiled: CompiledDag, *, deadline: Deadline | None = None) -> dict[str, str]:
    """Upload the spark artifacts (before the DAG that reads them); name -> where written."""
    artifacts = compiled.artifacts
    if artifacts is None or not artifacts.files:
        return {}
    return upload_files(artifacts.destination, artifacts.files, deadline=deadline)


def write_dag(compiled: CompiledDag, folder: Path) -> Path:
    """Write the DAG file into a local folder (the same path and errors as a local upload)."""
    return write_local_files(folder, {compiled.file_name: compiled.source})[compiled.file_name]


SUMMARY_TABLE_MAX = 100  # tasks: a larger plan is summed up in its totals


def summary(compiled: CompiledDag) -> str:
    """What the DAG runs: its id and the plan table (tasks, nodes, kind, profile, template);
    for a plan of more than ``SUMMARY_TABLE_MAX`` tasks its totals and warnings only."""
    plan = compiled.plan
    title = f"DAG {compiled.dag_id}"
    if compiled.spec.get("local"):
        title += " (local execution: each task a `kedro run` on the Airflow worker)"
    if len(plan.tasks) <= SUMMARY_TABLE_MAX:
        return f"{title}\n{format_table(plan)}"
    return f"{title} (compile --explain prints the table of its tasks)\n{format_totals(plan)}"
