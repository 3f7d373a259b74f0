"""The SPEC's ``spark`` section: what the runtime's ``SparkExtension`` turns into operators
(a Dataproc cluster and its jobs, spark-submit to Kubernetes, or a custom factory's operators).

Pure data: the artifact URLs come in as values (see :mod:`.artifacts`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kedro_airflow_k8s.config.models import RunConfig
from kedro_airflow_k8s.features.spark.config import SparkConfig
from kedro_airflow_k8s.names import cluster_name_base
from kedro_airflow_k8s.plan.model import PlannedTask, TaskKind, TaskPlan
from kedro_airflow_k8s.runtime.spec import (
    DataprocJobSpec,
    JinjaValue,
    K8sJobSpec,
    SparkClusterSpec,
    SparkSpec,
    Text,
)

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
