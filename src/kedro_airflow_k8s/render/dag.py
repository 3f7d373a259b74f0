"""Pure text out: a task plan and the config become the source of a self-contained DAG file.

:func:`build_spec` turns the plan into plain data (the SPEC); :func:`render_dag` writes the file
text: the runtime builder's source (embedded verbatim), the SPEC as a Python literal and the
call that builds the DAG. No I/O beyond reading the package's own template and runtime source.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, NamedTuple, cast

from kedro_airflow_k8s import __version__, dag_tags, names
from kedro_airflow_k8s.config.base import DEFAULT_START_DATE
from kedro_airflow_k8s.config.kubernetes import ResourceProfile
from kedro_airflow_k8s.config.models import RunConfig
from kedro_airflow_k8s.errors import PluginConfigError
from kedro_airflow_k8s.features.api import Artifacts, SectionInputs
from kedro_airflow_k8s.features.local.config import EXECUTION_LOCAL
from kedro_airflow_k8s.features.registry import FEATURES, SECTIONS
from kedro_airflow_k8s.names import Names
from kedro_airflow_k8s.plan.model import PlannedTask, TaskPlan
from kedro_airflow_k8s.render.literals import to_literal

if TYPE_CHECKING:  # jinja2 is imported when a file is rendered; the SPEC types are for mypy
    from collections.abc import Mapping

    import jinja2

    from kedro_airflow_k8s.config.secrets import SecretConfig
    from kedro_airflow_k8s.features.mlflow.settings import MlflowSettings
    from kedro_airflow_k8s.runtime.spec import (
        DagSpec,
        JinjaValue,
        ProfileSpec,
        SecretSpec,
        TaskSpec,
        Text,
    )

FINAL_TASK_ID = "pipeline_complete"


class Unset:
    """Marks an argument that was not given (``None`` is a meaningful schedule)."""


UNSET = Unset()


class DagContext(NamedTuple):
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
        raise PluginConfigError(
            "run_config.image: no image to run the nodes in; set it or pass --image"
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
        "affinity": {} if profile.affinity is None else profile.affinity.as_pod_spec(),
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
    artifacts: Mapping[str, Artifacts] | None = None,
) -> DagSpec:
    """The plain data the runtime builder turns into a DAG.

    ``schedule`` overrides run_config.cron_expression (``None``: manual runs only);
    ``extra_tags`` are added to the DAG's tags (run-once marks each build with one);
    ``with_external_dependencies`` false leaves out the sensors (run-once runs at once);
    ``mlflow`` (the project's kedro-mlflow settings) adds one MLflow run per DAG run;
    ``artifacts`` are what the features made before (spec key -> artifacts, e.g. where the spark
    jobs' files are).

    The core (the DAG, the pods, the tasks) comes first, then each feature's section in the
    order of ``features/registry.py``. With ``run_config.execution: local`` the same plan becomes
    a DAG of local ``kedro run`` processes (see :mod:`kedro_airflow_k8s.features.local.feature`);
    ``artifacts`` are then not used.
    """
    if run_config.execution == EXECUTION_LOCAL:
        from kedro_airflow_k8s.features.local import feature as local

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
    # run-once's build tag is in the DAG's doc too: Airflow reads that from the DAG version a run
    # starts from, while the tags it serves are the last parse's (see operate.parse_wait)
    builds = [dag_tags.fit(t) for t in extra_tags if t.startswith(f"{dag_tags.BUILD}:")]
    core: DagSpec = {  # the sections follow, each typed by its feature
        "dag": {
            "dag_id": dag_id,
            "description": run_config.description,
            "doc_md": (
                f"Kedro pipeline `{context.pipeline}` of project {context.project_name} "
                f"(environment `{context.env}`, commit `{commit}`), {POD_PER_TASK}. "
                f"Generated by kedro-airflow-k8s {__version__}."
                + "".join(f" Build `{tag}`." for tag in builds)
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
    }
    inputs = SectionInputs(
        plan=plan,
        run_config=run_config,
        context=context,
        dag_id=dag_id,
        run_name=run_name,
        image=pod_image,
        params=params,
        taken=task_ids,
        with_external_dependencies=with_external_dependencies,
        mlflow=mlflow,
        artifacts=artifacts or {},
    )
    sections = {feature.spec_key: feature.section(inputs) for feature in SECTIONS}
    return cast("DagSpec", {**core, **sections})


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


def render_dag(spec: DagSpec, feature_code: Mapping[str, str] | None = None) -> str:
    """The text of the DAG file for ``spec``: same spec, byte-identical text.

    Each feature of ``features/registry.py`` ``FEATURES`` whose SPEC section is set has its
    runtime module embedded and its extension passed to ``build_dag``, in that order.
    ``feature_code`` maps a feature's SPEC key to the checked code it adds before the SPEC (its
    ``code()``, e.g. the operators of a custom spark factory); that feature's extension is then
    its ``code_extension``."""
    code = feature_code or {}
    used = [
        (
            feature.runtime_module,
            feature.code_extension if feature.spec_key in code else feature.extension,
        )
        for feature in FEATURES
        if feature.runtime_module and spec.get(feature.spec_key)
    ]
    sources = [runtime_source("params"), runtime_source("dag_builder")]
    sources += [runtime_source(module) for module, _ in used]
    template = _environment().get_template("dag.py.j2")
    return template.render(
        version=__version__,
        runtime_source="\n\n".join(source.rstrip("\n") for source in sources),
        extensions=", ".join(name for _, name in used),
        spec_literal=to_literal(spec),
        custom_source="\n\n".join(code.values()),
    )
