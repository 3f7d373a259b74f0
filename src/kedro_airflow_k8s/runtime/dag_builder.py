"""Build the Airflow DAG of a Kedro pipeline from its plain-data SPEC.

This module runs inside Airflow: the renderer embeds its source verbatim into every generated DAG
file, followed by the SPEC literal and ``dag = build_dag(SPEC)``. It imports only the standard
library, Airflow, its cncf-kubernetes provider and the kubernetes client, and works on Airflow 3
and Airflow 2.10. It must not use ``from __future__`` imports (it is not at the top of the file).

Every string from the user (node names, config values...) is passed to Airflow wrapped in
``literal()`` so Airflow never renders it as a Jinja template; only values the plugin marks as
templates (``{"jinja": "..."}``) are rendered.
"""

import datetime
from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret
from kubernetes.client import models as k8s

try:  # Airflow 3
    from airflow.sdk import DAG, TaskGroup, literal
except ImportError:  # Airflow 2.10
    from airflow import DAG
    from airflow.utils.task_group import TaskGroup  # type: ignore[no-redef]
    from airflow.utils.template import literal  # type: ignore[no-redef]

try:  # Airflow 3 (and 2.x with the standard provider installed)
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2.10
    from airflow.operators.empty import EmptyOperator  # type: ignore[no-redef]


def untemplated(value: Any) -> Any:
    """Protect plain strings (also inside lists and dicts) from Jinja; render ``{"jinja": s}``."""
    if isinstance(value, str):
        return literal(value)
    if isinstance(value, dict):
        if set(value) == {"jinja"}:
            return value["jinja"]
        return {key: untemplated(item) for key, item in value.items()}
    if isinstance(value, list):
        return [untemplated(item) for item in value]
    return value


def build_secret(spec: dict[str, Any]) -> Secret:
    return Secret(
        deploy_type=spec["deploy_type"],
        deploy_target=spec.get("deploy_target"),
        secret=spec["secret"],
        key=spec.get("key"),
    )


def build_pod_arguments(pod: dict[str, Any], profile: dict[str, Any] | None) -> dict[str, Any]:
    """Keyword arguments of KubernetesPodOperator shared by every node task of a profile."""
    kwargs: dict[str, Any] = {
        "image": pod["image"],
        "image_pull_policy": pod["image_pull_policy"],
        "namespace": pod["namespace"],
        "startup_timeout_seconds": pod["startup_timeout_seconds"],
        "get_logs": True,
        "on_finish_action": "delete_pod",
        "do_xcom_push": False,
    }
    if pod.get("service_account_name"):
        kwargs["service_account_name"] = pod["service_account_name"]
    if pod.get("kubernetes_conn_id"):
        kwargs["kubernetes_conn_id"] = pod["kubernetes_conn_id"]
    if pod.get("image_pull_secrets"):
        kwargs["image_pull_secrets"] = [
            k8s.V1LocalObjectReference(name=name) for name in pod["image_pull_secrets"]
        ]
    if pod.get("secrets"):
        kwargs["secrets"] = [build_secret(secret) for secret in pod["secrets"]]
    if pod.get("env_vars"):
        kwargs["env_vars"] = untemplated(pod["env_vars"])
    if profile:
        if profile.get("requests") or profile.get("limits"):
            kwargs["container_resources"] = k8s.V1ResourceRequirements(
                requests=profile.get("requests") or None,
                limits=profile.get("limits") or None,
            )
        if profile.get("node_selector"):
            kwargs["node_selector"] = untemplated(profile["node_selector"])
        if profile.get("labels"):
            kwargs["labels"] = untemplated(profile["labels"])
        if profile.get("annotations"):
            kwargs["annotations"] = untemplated(profile["annotations"])
        if profile.get("tolerations"):
            kwargs["tolerations"] = list(profile["tolerations"])
        if profile.get("affinity"):
            kwargs["affinity"] = profile["affinity"]
    return kwargs


def build_dag(spec: dict[str, Any]) -> DAG:
    """Create the DAG, its TaskGroups, one task per planned task and the final task."""
    dag_spec = spec["dag"]
    default_args = dict(dag_spec["default_args"])
    default_args["retry_delay"] = datetime.timedelta(
        seconds=default_args.pop("retry_delay_seconds")
    )
    year, month, day = dag_spec["start_date"]
    dag = DAG(
        dag_id=dag_spec["dag_id"],
        description=dag_spec.get("description"),
        doc_md=dag_spec.get("doc_md"),
        schedule=dag_spec.get("schedule"),
        start_date=datetime.datetime(year, month, day, tzinfo=datetime.timezone.utc),
        catchup=False,
        max_active_runs=dag_spec.get("max_active_runs", 1),
        default_args=default_args,
        tags=list(dag_spec["tags"]),
    )
    with dag:
        groups: dict[tuple[str, ...], TaskGroup] = {}
        for path in spec.get("task_groups", []):
            parent = groups.get(tuple(path[:-1]))
            groups[tuple(path)] = TaskGroup(group_id=path[-1], parent_group=parent)
        tasks: dict[str, Any] = {}
        for task in spec["tasks"]:
            profile = spec["profiles"].get(task["profile"]) if task.get("profile") else None
            group = groups.get(tuple(task.get("group", [])))
            operator = KubernetesPodOperator(
                task_id=task["task_id"],
                name=task["pod_name"],
                arguments=untemplated(task["arguments"]),
                task_group=group,
                **build_pod_arguments(spec["pod"], profile),
            )
            tasks[operator.task_id] = operator
        for task in spec["tasks"]:
            this = tasks[task["full_task_id"]]
            for upstream in task["upstream"]:
                tasks[upstream] >> this
        final = EmptyOperator(task_id=spec["final_task_id"], trigger_rule="all_success")
        for task in spec["tasks"]:
            this = tasks[task["full_task_id"]]
            if not this.downstream_task_ids:
                this >> final
    return dag
