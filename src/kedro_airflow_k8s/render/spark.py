"""Pure text and data for the spark groups of a plan: the SPEC section the runtime's
``SparkExtension`` turns into operators, the cluster init script, the per-group run scripts and
(for ``type: custom``) the checked source of the user's operator factory.

Nothing here reads files: the user's init script parts and the artifact URLs come in as values.
"""

from __future__ import annotations

import ast
import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kedro_airflow_k8s import __version__
from kedro_airflow_k8s.config.models import RunConfig
from kedro_airflow_k8s.errors import ConfigError
from kedro_airflow_k8s.features.spark.config import SparkConfig
from kedro_airflow_k8s.names import cluster_name_base
from kedro_airflow_k8s.plan.model import PlannedTask, TaskKind, TaskPlan
from kedro_airflow_k8s.render.literals import to_literal
from kedro_airflow_k8s.render.spark_factory import SparkCluster, SparkJob, SparkOperatorFactoryBase
from kedro_airflow_k8s.runtime.spec import (
    DataprocJobSpec,
    JinjaValue,
    K8sJobSpec,
    SparkClusterSpec,
    SparkSpec,
    Text,
)

CLUSTER_NAME_MACRO = "kak8s_spark_cluster_name"
CLUSTER_NAME_TEMPLATE = "{{ " + CLUSTER_NAME_MACRO + "(run_id) }}"
_QUANTITY = re.compile(
    r"^[+]?([0-9]+(?:\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[KMGTPE]i|[munkMGTPE])?$"
)
_FACTORS = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


@dataclass(frozen=True)
class SparkArtifactUrls:
    """Where one compile's spark artifacts are read from by the cluster / the jobs."""

    project_home: str
    init_script: str | None = None
    project_archive: str | None = None
    run_scripts: Mapping[str, str] | None = None  # full task id -> URL


def spark_tasks(plan: TaskPlan) -> list[PlannedTask]:
    return [task for task in plan.tasks if task.kind is TaskKind.SPARK]


def default_project_home(package_name: str) -> str:
    return f"/opt/kedro/{package_name}"


def cluster_base_name(spark: SparkConfig, run_name: str) -> str:
    """The configured base name, or one made from the run name (valid for Dataproc)."""
    return spark.cluster_name or cluster_name_base(run_name)


def spark_memory(quantity: str) -> str:
    """A Kubernetes memory quantity as a Spark size in MiB (``1Gi`` -> ``1024m``)."""
    match = _QUANTITY.match(quantity)
    if not match:
        raise ValueError(f"{quantity!r} is not a memory quantity")
    number, suffix = match.groups()
    if suffix and len(suffix) > 1 and suffix[0] in "eE" and suffix != "Ei":
        value = float(number + suffix)  # a decimal exponent such as 1e9
    elif suffix == "m":
        value = float(number) / 1000
    elif suffix in ("u", "n"):
        value = 0.0
    else:
        value = float(number) * _FACTORS[suffix or ""]
    return f"{max(1, math.ceil(value / 2**20))}m"


def spark_property(value: Any) -> str:
    """A Spark property value as the text Spark reads (``true``, ``2``, ``0.5``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def job_arguments(
    env: str, pipeline: str, nodes: tuple[str, ...], runner: str, params: JinjaValue
) -> list[Text]:
    """The run script's arguments for one group (``params`` is the ``--params`` template)."""
    return [
        "run",
        "--env",
        env,
        "--pipeline",
        pipeline,
        "--node",
        ",".join(nodes),
        "--runner",
        runner,
        params,
    ]


def create_after(plan: TaskPlan) -> list[str]:
    """Tasks the cluster waits for: the upstream pods of the first spark tasks (those with no
    spark task upstream), so the cluster is not up while the pods before it run."""
    by_id = {task.full_task_id: task for task in plan.tasks}
    spark_ids = {task.full_task_id for task in spark_tasks(plan)}
    after_spark: dict[str, bool] = {}

    def has_spark_ancestor(task_id: str) -> bool:
        if task_id not in after_spark:
            after_spark[task_id] = False  # the plan is acyclic; guards the recursion anyway
            after_spark[task_id] = any(
                up in spark_ids or has_spark_ancestor(up) for up in by_id[task_id].upstream
            )
        return after_spark[task_id]

    out: list[str] = []
    for task_id in sorted(spark_ids):
        if has_spark_ancestor(task_id):
            continue
        for up in by_id[task_id].upstream:
            if up not in out:
                out.append(up)
    return sorted(out)


def _k8s_resource_conf(profile: Any) -> dict[str, str]:
    conf: dict[str, str] = {}
    if profile is None:
        return conf
    cpu_request = profile.requests.get("cpu")
    cpu_limit = profile.limits.get("cpu")
    memory = profile.limits.get("memory") or profile.requests.get("memory")
    for role in ("driver", "executor"):
        if cpu_request:
            conf[f"spark.kubernetes.{role}.request.cores"] = str(cpu_request)
        if cpu_limit:
            conf[f"spark.kubernetes.{role}.limit.cores"] = str(cpu_limit)
        if memory:
            conf[f"spark.{role}.memory"] = spark_memory(str(memory))
        for key, value in profile.labels.items():
            conf[f"spark.kubernetes.{role}.label.{key}"] = value
        for key, value in profile.annotations.items():
            conf[f"spark.kubernetes.{role}.annotation.{key}"] = value
    for key, value in profile.node_selectors.items():
        conf[f"spark.kubernetes.node.selector.{key}"] = value
    return conf


def k8s_base_conf(run_config: RunConfig, spark: SparkConfig, image: str) -> dict[str, Any]:
    """Spark properties every spark-submit to Kubernetes gets (before the per-task ones)."""
    conf: dict[str, Any] = {
        "spark.submit.deployMode": "cluster",
        "spark.kubernetes.namespace": spark.namespace or run_config.namespace,
        "spark.kubernetes.container.image": spark.image or image,
        "spark.kubernetes.container.image.pullPolicy": run_config.image_pull_policy,
        "spark.kubernetes.authenticate.driver.serviceAccountName": (
            spark.service_account_name or run_config.service_account_name or "default"
        ),
    }
    if run_config.image_pull_secrets:
        conf["spark.kubernetes.container.image.pullSecrets"] = ",".join(
            run_config.image_pull_secrets
        )
    for role in ("driver", "executor"):
        for key, value in spark.labels.items():
            conf[f"spark.kubernetes.{role}.label.{key}"] = value
        for secret in run_config.secrets:
            if secret.deploy_type == "volume":
                conf[f"spark.kubernetes.{role}.secrets.{secret.secret}"] = secret.deploy_target
            elif secret.key and secret.deploy_target:
                conf[f"spark.kubernetes.{role}.secretKeyRef.{secret.deploy_target}"] = (
                    f"{secret.secret}:{secret.key}"
                )
        storage = spark.local_storage
        if storage is not None:
            claim = f"spark.kubernetes.{role}.volumes.persistentVolumeClaim.spark-local-dir-1"
            conf[f"{claim}.options.claimName"] = "OnDemand"
            conf[f"{claim}.options.storageClass"] = storage.storage_class
            conf[f"{claim}.options.sizeLimit"] = storage.size
            conf[f"{claim}.mount.path"] = storage.mount_path
            conf[f"{claim}.mount.readOnly"] = "false"
    for name, value in spark.env_vars.items():
        conf[f"spark.kubernetes.driverEnv.{name}"] = value
        conf[f"spark.executorEnv.{name}"] = value
    if spark.driver_port:
        conf["spark.driver.port"] = str(spark.driver_port)
    if spark.block_manager_port:
        conf["spark.blockManager.port"] = str(spark.block_manager_port)
    return conf


def k8s_warnings(run_config: RunConfig) -> list[str]:
    out = []
    for index, secret in enumerate(run_config.secrets):
        if secret.deploy_type == "env" and not secret.key:
            out.append(
                f"run_config.secrets[{index}] ({secret.secret}): a whole Secret as environment "
                "cannot be given to Spark on Kubernetes; the spark jobs do not get it"
            )
    return out


def spark_spec(
    plan: TaskPlan,
    run_config: RunConfig,
    *,
    env: str,
    pipeline: str,
    run_name: str,
    image: str,
    urls: SparkArtifactUrls,
    params: JinjaValue,
    free_id: Any,
) -> SparkSpec | None:
    """The SPEC's ``spark`` section, or None when spark groups run as pods (no spark config or
    no spark group in the plan). ``free_id(wanted)`` returns a task id nothing else uses."""
    spark = run_config.spark
    tasks = spark_tasks(plan)
    if spark is None or not tasks:
        return None
    home_path = f"{urls.project_home}/src"
    extra_conf = {key: spark_property(value) for key, value in spark.conf.items()}
    jobs: dict[str, DataprocJobSpec | K8sJobSpec] = {}
    out: SparkSpec = {
        "type": spark.type,
        "tasks": [task.full_task_id for task in tasks],
        "jobs": jobs,
    }
    cluster: SparkClusterSpec | None = None
    if spark.type in ("dataproc", "custom"):
        out["create_task_id"] = free_id("create_spark_cluster")
        out["delete_task_id"] = free_id("delete_spark_cluster")
        out["create_after"] = create_after(plan)
        cluster = out["cluster"] = {
            "name_base": cluster_base_name(spark, run_name),
            "project_id": spark.project_id,
            "region": spark.region,
            "gcp_conn_id": spark.gcp_conn_id,
        }
    if spark.type == "dataproc":
        config = dict(spark.cluster_config)
        actions = list(config.get("initialization_actions") or [])
        actions.append({"executable_file": urls.init_script})
        config["initialization_actions"] = actions
        assert cluster is not None  # dataproc makes a cluster
        cluster["cluster_config"] = config
        for task in tasks:
            properties = {"spark.executorEnv.PYTHONPATH": home_path, **extra_conf}
            jobs[task.full_task_id] = {
                "main_python_file_uri": (urls.run_scripts or {})[task.full_task_id],
                "args": job_arguments(env, pipeline, task.nodes, spark.runner, params),
                "properties": properties,
            }
    elif spark.type == "k8s":
        base = k8s_base_conf(run_config, spark, image)
        for task in tasks:
            profile = run_config.resources.get(task.resource_profile or "")
            conf = {**base, **_k8s_resource_conf(profile), **extra_conf}
            application = spark.run_script or (urls.run_scripts or {})[task.full_task_id]
            jobs[task.full_task_id] = {
                "application": application,
                "conn_id": spark.conn_id,
                "name": f"{run_name}-{task.task_id}"[:200],
                "conf": conf,
                "application_args": job_arguments(env, pipeline, task.nodes, spark.runner, params),
            }
    return out


# --- custom operator factories ------------------------------------------------------------------


def _check_expression(source: Any, where: str) -> str:
    if not isinstance(source, str):
        raise ConfigError(f"{where} returned {type(source).__name__}, not Python source text")
    try:
        ast.parse(source.strip(), mode="eval")
    except SyntaxError as error:
        raise ConfigError(f"{where} is not one Python expression: {error.msg}") from None
    return source.strip()


def _check_imports(source: Any, where: str) -> str:
    if not isinstance(source, str):
        raise ConfigError(f"{where} returned {type(source).__name__}, not Python source text")
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise ConfigError(f"{where} does not parse: {error.msg}") from None
    for statement in tree.body:
        if not isinstance(statement, (ast.Import, ast.ImportFrom)):
            raise ConfigError(f"{where} may hold import statements only")
    return source.strip()


def custom_operators_source(
    factory: SparkOperatorFactoryBase,
    spec: SparkSpec,
    plan: TaskPlan,
    *,
    project_name: str,
    env: str,
    pipeline: str,
    urls: SparkArtifactUrls,
    params: JinjaValue,
    runner: str,
    cluster_config: dict[str, Any],
    spark_conf: Mapping[str, Any] | None = None,
) -> str:
    """The generated file's ``CUSTOM_SPARK_OPERATORS``: the factory's import statement and one
    function per operator returning the factory's expression; every piece is checked."""
    where = f"run_config.spark.operator_factory {type(factory).__name__}"
    spark_conf = spark_conf or {}
    cluster = SparkCluster(
        project_name=project_name,
        create_task_id=spec["create_task_id"],
        delete_task_id=spec["delete_task_id"],
        name=CLUSTER_NAME_TEMPLATE,
        init_script_url=urls.init_script or "",
        project_archive_url=urls.project_archive or "",
        cluster_config=dict(cluster_config),
        region=spec["cluster"]["region"],
        project_id=spec["cluster"]["project_id"],
    )

    def produce(member: str, *args: Any) -> Any:
        """The factory's property ``member``, or what its method ``member(*args)`` returns."""
        try:
            value = getattr(factory, member)
            return value(*args) if args else value
        except ConfigError:
            raise
        except Exception as error:  # the user's code: report it in one line
            raise ConfigError(f"{where}.{member} failed: {type(error).__name__}: {error}") from None

    imports = _check_imports(produce("imports_statement"), where)
    properties = {key: spark_property(value) for key, value in spark_conf.items()}
    lines = [imports, "", "", "CUSTOM_SPARK_OPERATORS = {"]
    create = _check_expression(produce("create_cluster_operator", cluster), f"{where}.create")
    delete = _check_expression(produce("delete_cluster_operator", cluster), f"{where}.delete")
    lines += [
        f'    "create": lambda: ({create}\n    ),',
        f'    "delete": lambda: ({delete}\n    ),',
    ]
    lines.append('    "submit": {')
    for task in spark_tasks(plan):
        job = SparkJob(
            project_name=project_name,
            task_id=task.task_id,
            full_task_id=task.full_task_id,
            nodes=task.nodes,
            pipeline=pipeline,
            env=env,
            run_script_url=(urls.run_scripts or {}).get(task.full_task_id, ""),
            arguments=tuple(job_arguments(env, pipeline, task.nodes, runner, params)),
            cluster=cluster,
            properties=dict(properties),
        )
        submit = _check_expression(produce("submit_operator", job), f"{where}.submit_operator")
        lines.append(f"        {to_literal(task.full_task_id)}: lambda: ({submit}\n        ),")
    lines += ["    },", "}"]
    text = "\n".join(lines)
    try:  # parsing each piece alone misses e.g. a __future__ import or `await` in place
        compile(f"SPEC = None\n{text}\n", "generated DAG file", "exec")  # after SPEC
    except SyntaxError as error:
        raise ConfigError(f"{where} gives code that does not compile: {error.msg}") from None
    return text


# --- scripts uploaded with the DAG ----------------------------------------------------------


def _fetch_command(url: str, target: str) -> str:
    """The shell command copying ``url`` to ``target`` (a shell word, written as it is)."""
    quoted = target
    if url.startswith(("gs://", "gcs://")):
        source = "gs://" + url.split("://", 1)[1]
        return f"gsutil -q cp {shlex.quote(source)} {quoted}"
    if url.startswith("s3://"):
        return f"aws s3 cp --quiet {shlex.quote(url)} {quoted}"
    path = url[len("file://") :] if url.startswith("file://") else url
    return f"cp {shlex.quote(path)} {quoted}"


def init_script_text(
    *,
    project_name: str,
    commit: str,
    project_home: str,
    archive_url: str,
    user_init: str | None = None,
    user_post_init: str | None = None,
) -> str:
    """The cluster's init action: the user's part, then fetching and unpacking the project
    archive into PROJECT_HOME and installing its requirements, then the user's post part."""
    home = shlex.quote(project_home)
    parts = [
        "#!/usr/bin/env bash",
        _header("Cluster init script", project_name, commit),
        "set -euo pipefail",
        f"export PROJECT_HOME={home}",
        "# The Python of the Spark jobs: Dataproc's conda one, else python3 (or $KEDRO_PYTHON).",
        'KEDRO_PYTHON="${KEDRO_PYTHON:-}"',
        'if [ -z "$KEDRO_PYTHON" ]; then',
        "  KEDRO_PYTHON=/opt/conda/default/bin/python",
        '  [ -x "$KEDRO_PYTHON" ] || KEDRO_PYTHON=python3',
        "fi",
        "",
    ]
    if user_init:
        parts += ["# --- run_config.spark.user_init_path", user_init.rstrip("\n"), ""]
    parts += [
        "# --- the project",
        'mkdir -p "$PROJECT_HOME"',
        'archive="$(mktemp)"',
        _fetch_command(archive_url, '"$archive"'),
        'tar -xzf "$archive" -C "$PROJECT_HOME"',
        'rm -f "$archive"',
        'if [ -f "$PROJECT_HOME/requirements.txt" ]; then',
        '  "$KEDRO_PYTHON" -m pip install -q -r "$PROJECT_HOME/requirements.txt"',
        "fi",
        "",
    ]
    if user_post_init:
        parts += ["# --- run_config.spark.user_post_init_path", user_post_init.rstrip("\n"), ""]
    return "\n".join(parts)


def _header(what: str, project_name: str, commit: str) -> str:
    """A one-line comment naming the project (whitespace and newlines in names collapsed)."""
    project, commit = " ".join(project_name.split()), " ".join(commit.split())
    return (
        f"# {what} of Kedro project {project} (commit {commit}), generated by "
        f"kedro-airflow-k8s {__version__}."
    )


def run_script_text(
    runtime_source: str,
    *,
    project_name: str,
    commit: str,
    project_home: str,
    env: str,
    pipeline: str,
    nodes: tuple[str, ...],
    runner: str,
) -> str:
    """A spark group's run script: the runtime's run-script module and its call with the
    group's defaults (the job's arguments win)."""
    defaults = {
        "project_home": project_home,
        "env": env,
        "pipeline": pipeline,
        "nodes": ",".join(nodes),
        "runner": runner,
    }
    call = ", ".join(f"{key}={to_literal(value)}" for key, value in defaults.items())
    return (
        f"{_header('Spark run script', project_name, commit)}\n"
        f"{runtime_source.rstrip()}\n\n\n"
        'if __name__ == "__main__":\n'
        f"    sys.exit(main(sys.argv[1:], {call}))\n"
    )
