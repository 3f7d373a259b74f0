"""Pure text out: a task plan and the config become the source of a self-contained DAG file.

:func:`build_spec` turns the plan into plain data (the SPEC); :func:`render_dag` writes the file
text: the runtime builder's source (embedded verbatim), the SPEC as a Python literal and the
call that builds the DAG. No I/O beyond reading the package's own template and runtime source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from kedro_airflow_k8s import __version__, dag_tags, names
from kedro_airflow_k8s.config.base import DEFAULT_START_DATE
from kedro_airflow_k8s.config.kubernetes import ResourceProfile, SecretConfig
from kedro_airflow_k8s.config.models import RunConfig
from kedro_airflow_k8s.errors import ConfigError
from kedro_airflow_k8s.features.alerts import feature as alerts
from kedro_airflow_k8s.features.in_memory.config import IN_MEMORY_ON_VOLUME
from kedro_airflow_k8s.features.local.config import EXECUTION_LOCAL
from kedro_airflow_k8s.mlflow_settings import MlflowSettings
from kedro_airflow_k8s.names import Names, sensor_id
from kedro_airflow_k8s.plan.model import PlannedTask, TaskKind, TaskPlan
from kedro_airflow_k8s.render.literals import to_literal
from kedro_airflow_k8s.runtime.spec import (
    DagSpec,
    JinjaValue,
    MemorySpec,
    MlflowSpec,
    PodTemplateSpec,
    ProfileSpec,
    SecretSpec,
    SensorSpec,
    SparkSpec,
    TaskSpec,
    Text,
    VolumeSpec,
)

if TYPE_CHECKING:  # jinja2 and the spark renderer are imported when they are needed
    import jinja2

    from kedro_airflow_k8s.render.spark import SparkArtifactUrls

FINAL_TASK_ID = "pipeline_complete"


class Unset:
    """Marks an argument that was not given (``None`` is a meaningful schedule)."""


UNSET = Unset()


@dataclass(frozen=True)
class DagContext:
    """What the DAG says about where it comes from."""

    project_name: str
    package_name: str
    pipeline: str
    env: str
    commit_sha: str | None = None
    project_path: str | None = None  # the project's folder (the default of local execution's)


def resolve_image(run_config: RunConfig, image: str | None) -> str:
    chosen = image or run_config.image
    if not chosen:
        raise ConfigError(
            "airflow-k8s config: run_config.image: no image to run the nodes in; set it or "
            "pass --image"
        )
    return chosen


def _profile_spec(profile: ResourceProfile) -> ProfileSpec:
    return {
        "requests": dict(profile.requests),
        "limits": dict(profile.limits),
        "node_selector": dict(profile.node_selectors),
        "labels": dict(profile.labels),
        "annotations": dict(profile.annotations),
        "tolerations": [
            t.model_dump(by_alias=True, exclude_none=True) for t in profile.tolerations
        ],
        "affinity": profile.affinity.as_pod_spec(),
    }


def _secret_spec(secret: SecretConfig) -> SecretSpec:
    out: SecretSpec = {"secret": secret.secret, "deploy_type": secret.deploy_type}
    if secret.deploy_target is not None:
        out["deploy_target"] = secret.deploy_target
    if secret.key is not None:
        out["key"] = secret.key
    return out


def _task_spec(task: PlannedTask, context: DagContext, params: JinjaValue) -> TaskSpec:
    out: TaskSpec = {
        "task_id": task.task_id,
        "full_task_id": task.full_task_id,
        "group": list(task.task_group),
        "pod_name": task.pod_name,
        "kind": task.kind.value,
        "nodes": list(task.nodes),
        "profile": task.resource_profile,
        "pod_template": task.pod_template,
        "arguments": kedro_run_arguments(context.env, context.pipeline, task.nodes, params),
        "upstream": list(task.upstream),
    }
    if task.memory_datasets:
        out["memory_datasets"] = list(task.memory_datasets)
    return out


def kedro_run_arguments(
    env: str, pipeline: str, nodes: tuple[str, ...], params: JinjaValue | None = None
) -> list[Text]:
    """The container arguments (the image's entrypoint is kept) that run ``nodes``.

    ``params`` is the template of the ``--params=...`` argument (see :func:`params_template`)."""
    arguments: list[Text] = [
        "kedro",
        "run",
        "--env",
        env,
        "--pipelines",
        pipeline,
        "--nodes",
        ",".join(nodes),
    ]
    if params:
        arguments.append(params)
    return arguments


def params_template(run_config: RunConfig) -> JinjaValue:
    """``kedro run --params`` rendered by Airflow: the macros and Airflow Variables named in the
    config, then the run's conf (which wins), encoded by the runtime's ``kedro_params``.

    Names were validated by the config (macro names, variable names), so they are safe to place
    in the template text."""
    macros = ", ".join(f"{name!r}: {name}" for name in run_config.macro_params)
    variables = ", ".join(f"{name!r}: var.value.{name}" for name in run_config.variables_params)
    call = f"kedro_params({{{macros}}}, {{{variables}}}, dag_run.conf)"
    return {"jinja": f"--params={{{{ {call} }}}}"}


def external_dependencies_spec(
    run_config: RunConfig, taken: Names | None = None
) -> list[SensorSpec]:
    """One sensor per entry, with task ids unique however many entries there are (and apart from
    the ids in ``taken``, which grows)."""
    out: list[SensorSpec] = []
    used = taken if taken is not None else Names()
    for entry in run_config.external_dependencies:
        out.append(
            {
                "task_id": used.claim(sensor_id(entry.dag_id, entry.task_id)),
                "dag_id": entry.dag_id,
                "external_task_id": entry.task_id,
                "timeout_minutes": entry.timeout,
                "check_existence": entry.check_existence,
                "execution_delta_minutes": entry.execution_delta,
            }
        )
    return out


def volume_spec(run_config: RunConfig, taken: Names) -> VolumeSpec | None:
    """The per-run volume, or None when it is not configured or disabled."""
    volume = run_config.volume
    if volume is None or volume.disabled:
        return None
    return {
        "storage_class": volume.storageclass,
        "size": volume.size,
        "access_modes": list(volume.access_modes),
        "skip_init": volume.skip_init,
        "owner": volume.owner,
        "mount_path": volume.mount_path,
        "create_task_id": taken.claim("data_volume_init"),
        "delete_task_id": taken.claim("data_volume_delete"),
    }


#: Where ``in_memory.storage: volume`` keeps the datasets: a folder of the volume.
IN_MEMORY_VOLUME_FOLDER = "kedro-airflow-k8s-in-memory"


def memory_spec(plan: TaskPlan, run_config: RunConfig) -> MemorySpec | None:
    """Where the run keeps in-memory datasets that cross pods, or None when none do (or
    run_config.in_memory is not set)."""
    in_memory = run_config.in_memory
    if in_memory is None or not any(t.memory_datasets for t in plan.tasks):
        return None
    if run_config.spark is not None:
        for task in plan.tasks:
            if task.kind is TaskKind.SPARK and task.memory_datasets:
                raise ConfigError(
                    f"airflow-k8s config: run_config.in_memory: in-memory dataset "
                    f"{task.memory_datasets[0]!r} passes between spark task "
                    f"{task.full_task_id!r} and another task, and a spark job runs without the "
                    "plugin's hook: give the dataset a catalog entry"
                )
    storage = in_memory.storage
    if storage == IN_MEMORY_ON_VOLUME:
        assert run_config.volume is not None  # the config requires it
        storage = f"{run_config.volume.mount_path}/{IN_MEMORY_VOLUME_FOLDER}"
    return {"storage": storage}


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


def pod_templates_spec(run_config: RunConfig, names: set[str]) -> dict[str, PodTemplateSpec]:
    """The pod templates the tasks use, as plain data (parsed when the config was read)."""
    out: dict[str, PodTemplateSpec] = {}
    for name in sorted(names):
        template = run_config.kubernetes_pod_templates[name]
        out[name] = {"template": template.manifest, "image": template.image}
    return out


#: What the DAG's documentation says about where tasks run (local execution rewrites it).
POD_PER_TASK = "one Kubernetes pod per task"


def build_spec(
    plan: TaskPlan,
    run_config: RunConfig,
    context: DagContext,
    *,
    image: str | None = None,
    dag_id: str | None = None,
    schedule: str | Unset | None = UNSET,
    extra_tags: tuple[str, ...] = (),
    with_external_dependencies: bool = True,
    mlflow: MlflowSettings | None = None,
    spark_urls: SparkArtifactUrls | None = None,
) -> DagSpec:
    """The plain data the runtime builder turns into a DAG.

    ``schedule`` overrides run_config.cron_expression (``None``: manual runs only);
    ``extra_tags`` are added to the DAG's tags (run-once marks each build with one);
    ``with_external_dependencies`` false leaves out the sensors (run-once runs at once);
    ``mlflow`` (the project's kedro-mlflow settings) adds one MLflow run per DAG run;
    ``spark_urls`` says where the spark artifacts are (with run_config.spark).

    With ``run_config.execution: local`` the same plan becomes a DAG of local ``kedro run``
    processes (see :mod:`kedro_airflow_k8s.render.local`); ``spark_urls`` is then not used.
    """
    if run_config.execution == EXECUTION_LOCAL:
        from kedro_airflow_k8s.render import local

        project_path = context.project_path or "."
        warnings = local.ignored_settings(run_config, project_path, image_option=image)
        pods = build_spec(  # spec_config's config executes on Kubernetes: one level deep
            plan,
            local.spec_config(run_config, project_path),
            context,
            image=local.LOCAL_IMAGE,
            dag_id=dag_id,
            schedule=schedule,
            extra_tags=extra_tags,
            with_external_dependencies=with_external_dependencies,
            mlflow=mlflow,
        )
        return local.localize_spec(
            pods,
            run_config,
            project_path=project_path,
            warnings=warnings,
            pod_phrase=POD_PER_TASK,
        )
    run_name = run_config.run_name or context.package_name
    dag_id = dag_id or names.dag_id(run_name, context.pipeline, context.env)
    start = datetime.strptime(run_config.start_date or DEFAULT_START_DATE, "%Y%m%d")
    experiment = run_config.experiment_name or run_name
    commit = context.commit_sha or "unknown"
    pod_image = resolve_image(run_config, image)
    used_profiles = sorted({t.resource_profile for t in plan.tasks if t.resource_profile})
    task_ids = Names(t.full_task_id for t in plan.tasks)
    final_id = task_ids.claim(FINAL_TASK_ID)
    groups = sorted({t.task_group[:i] for t in plan.tasks for i in range(1, len(t.task_group) + 1)})
    params = params_template(run_config)
    return {
        "dag": {
            "dag_id": dag_id,
            "description": run_config.description,
            "doc_md": (
                f"Kedro pipeline `{context.pipeline}` of project {context.project_name} "
                f"(environment `{context.env}`, commit `{commit}`), {POD_PER_TASK}. "
                f"Generated by kedro-airflow-k8s {__version__}."
            ),
            "schedule": run_config.cron_expression if isinstance(schedule, Unset) else schedule,
            "start_date": [start.year, start.month, start.day],
            "max_active_runs": 1,
            "default_args": {
                "owner": run_config.owner,
                "retries": run_config.retries,
                "retry_delay_seconds": run_config.retry_delay,
            },
            "tags": [
                *dag_tags.generated_tags(
                    version=__version__,
                    commit=commit,
                    experiment=experiment,
                    pipeline=context.pipeline,
                    env=context.env,
                ),
                *(dag_tags.fit(tag) for tag in extra_tags),
            ],
        },
        "pod": {
            "image": pod_image,
            "image_pull_policy": run_config.image_pull_policy,
            "namespace": run_config.namespace,
            "startup_timeout_seconds": run_config.startup_time,
            "service_account_name": run_config.service_account_name,
            "kubernetes_conn_id": run_config.kubernetes_conn_id,
            "image_pull_secrets": list(run_config.image_pull_secrets),
            "secrets": [_secret_spec(secret) for secret in run_config.secrets],
            "env_vars": {
                name: {"jinja": "{{ var.value." + name + " }}"} for name in run_config.env_vars
            },
        },
        "profiles": {name: _profile_spec(run_config.resources[name]) for name in used_profiles},
        "task_groups": [list(path) for path in groups],
        "tasks": [_task_spec(task, context, params) for task in plan.tasks],
        "final_task_id": final_id,
        "external_dependencies": (
            external_dependencies_spec(run_config, task_ids) if with_external_dependencies else []
        ),
        alerts.SPEC_KEY: alerts.alerts_section(run_config.failure_handlers),
        "volume": volume_spec(run_config, task_ids),
        "memory": memory_spec(plan, run_config),
        "mlflow": mlflow_spec(
            mlflow,
            run_config,
            context,
            dag_id=dag_id,
            image=pod_image,
            taken=task_ids,
        ),
        "pod_templates": pod_templates_spec(
            run_config, {t.pod_template for t in plan.tasks if t.pod_template}
        ),
        "spark": _spark_section(
            plan,
            run_config,
            context,
            run_name=run_name,
            image=pod_image,
            urls=spark_urls,
            params=params,
            taken=task_ids,
        ),
    }


def _spark_section(
    plan: TaskPlan,
    run_config: RunConfig,
    context: DagContext,
    *,
    run_name: str,
    image: str,
    urls: SparkArtifactUrls | None,
    params: JinjaValue,
    taken: Names,
) -> SparkSpec | None:
    """The SPEC's spark section; None without ``run_config.spark`` (then the spark renderer is
    not even imported)."""
    if run_config.spark is None:
        return None
    from kedro_airflow_k8s.render.spark import SparkArtifactUrls, default_project_home, spark_spec

    return spark_spec(
        plan,
        run_config,
        env=context.env,
        pipeline=context.pipeline,
        run_name=run_name,
        image=image,
        urls=urls or SparkArtifactUrls(default_project_home(context.package_name)),
        params=params,
        free_id=taken.claim,
    )


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    loader = jinja2.PackageLoader("kedro_airflow_k8s.render", "templates")
    # Python out, not HTML: never autoescape; a missing variable is an error, not "".
    return jinja2.Environment(
        loader=loader,
        autoescape=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


@cache
def runtime_source(module: str) -> str:
    """The source of a runtime module, as embedded into generated files."""
    return resources.files("kedro_airflow_k8s.runtime").joinpath(f"{module}.py").read_text("utf-8")


# Runtime extension modules: embedded when their SPEC section is set (key, module, expression).
# Local execution comes first: its task_operator makes every node task's operator (spark too).
EXTENSIONS = (
    ("local", "local", "LocalExtension(untemplated)"),
    (alerts.SPEC_KEY, alerts.RUNTIME_MODULE, alerts.EXTENSION),
    ("mlflow", "mlflow_run", "MlflowExtension"),
    ("volume", "volume", "VolumeExtension(untemplated)"),
    ("memory", "memory", "MemoryExtension"),
    ("spark", "spark", "SparkExtension(untemplated)"),
)
CUSTOM_SPARK_EXTENSION = "SparkExtension(untemplated, CUSTOM_SPARK_OPERATORS)"


def render_dag(spec: DagSpec, custom_spark_source: str | None = None) -> str:
    """The text of the DAG file for ``spec``: same spec, byte-identical text.

    ``custom_spark_source`` is the checked source of a custom spark operator factory (see
    :func:`kedro_airflow_k8s.render.spark.custom_operators_source`), for ``type: custom``."""
    used = [(module, name) for key, module, name in EXTENSIONS if spec.get(key)]
    if custom_spark_source:
        used = [(m, CUSTOM_SPARK_EXTENSION if m == "spark" else n) for m, n in used]
    sources = [runtime_source("params"), runtime_source("dag_builder")]
    sources += [runtime_source(module) for module, _ in used]
    template = _environment().get_template("dag.py.j2")
    return template.render(
        version=__version__,
        runtime_source="\n\n".join(source.rstrip("\n") for source in sources),
        extensions=", ".join(name for _, name in used),
        spec_literal=to_literal(spec),
        custom_source=custom_spark_source or "",
    )
