"""Load generated DAG files in the Airflow installation that runs this script and write, as JSON,
everything the version matrix tests compare (see test_airflow_matrix.py).

Run with the python of an Airflow virtualenv:
``python airflow_probe.py OUTPUT_JSON KUBECONFIG DAGS_FOLDER...``.
It imports only the standard library, Airflow, its providers and the kubernetes client (it runs
on Airflow 2.10 and every 3.x), and contacts nothing: every template is rendered with the context
below, and every KubernetesPodOperator builds its pod with the provider's own
``build_pod_request_obj`` against a kubeconfig that points nowhere.

Output::

    {"python": "3.11.7", "airflow": "3.0.0",
     "providers": {"apache-airflow-providers-...": "10.0.0", ...},
     "folders": {folder: {"errors": {file: error}, "warnings": [...], "dags": {...}}}}

``warnings`` are those raised by the lines of the DAG files themselves (loading, rendering,
building pods);
``dags`` maps each DAG id to its tasks: ``{task_id: TASK}``,

TASK being ``{"type", "group", "upstream", "trigger_rule", "callbacks", "fields", "pod"}``:
``fields`` holds the rendered template fields of operators that are not pods (JSON-safe), ``pod``
the manifest a pod operator would send (or None).
"""

import datetime
import json
import os
import platform
import sys
import warnings
from importlib import metadata
from typing import Any

RUN_ID = "scheduled__2026-11-20T00:00:00+00:00"


class Variables:
    """``var.value.NAME`` renders as ``variable NAME``: every Airflow Variable exists."""

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        return f"variable {name}"

    def get(self, name: str, default: Any = None) -> str:
        return self.__getattr__(name)


class TaskInstance:
    def __init__(self, dag_id: str, task_id: str) -> None:
        self.dag_id = dag_id
        self.task_id = task_id
        self.run_id = RUN_ID
        self.try_number = 1
        self.map_index = -1

    def xcom_pull(self, task_ids: Any = None, **_: Any) -> str:
        return f"xcom of {task_ids}"


class DagRun:
    run_id = RUN_ID
    conf = {"from_conf": "a,b: 'c'"}
    logical_date = datetime.datetime(2026, 11, 20, tzinfo=datetime.timezone.utc)


def context_of(dag: Any, task: Any) -> dict[str, Any]:
    ti = TaskInstance(dag.dag_id, task.task_id)
    return {
        "ti": ti,
        "task_instance": ti,
        "dag": dag,
        "task": task,
        "run_id": RUN_ID,
        "ds": "2026-11-20",
        "logical_date": DagRun.logical_date,
        "dag_run": DagRun(),
        "var": {"value": Variables(), "json": Variables()},
        "params": {},
    }


def json_safe(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [json_safe(item) for item in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, (datetime.datetime, datetime.timedelta)):
        return str(value)
    if hasattr(value, "to_dict"):  # kubernetes client models
        return json_safe(value.to_dict())
    return repr(value)


def providers() -> dict[str, str]:
    found = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith("apache-airflow-providers-") or name in (
            "apache-airflow-core",
            "apache-airflow-task-sdk",
            "kubernetes",
        ):
            found[name] = dist.version
    return dict(sorted(found.items()))


def probe_task(dag: Any, task: Any, kubeconfig: str, pod_operator: type) -> dict[str, Any]:
    from kubernetes.client import ApiClient

    group = getattr(task, "task_group", None)
    callbacks = task.on_failure_callback or []
    if not isinstance(callbacks, list):
        callbacks = [callbacks]
    context = context_of(dag, task)
    task.render_template_fields(context)
    result: dict[str, Any] = {
        "type": type(task).__name__,
        "group": getattr(group, "group_id", None),
        "upstream": sorted(task.upstream_task_ids),
        "trigger_rule": str(getattr(task.trigger_rule, "value", task.trigger_rule)),
        "callbacks": [getattr(c, "__name__", repr(c)) for c in callbacks],
        "fields": {},
        "pod": None,
    }
    if isinstance(task, pod_operator):
        task.config_file = kubeconfig
        pod = task.build_pod_request_obj(context)
        result["pod"] = ApiClient().sanitize_for_serialization(pod)
    else:
        result["fields"] = {name: json_safe(getattr(task, name)) for name in task.template_fields}
    return result


def load_folder(folder: str, kubeconfig: str) -> dict[str, Any]:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    try:  # Airflow 3
        from airflow.dag_processing.dagbag import DagBag

        arguments: dict[str, Any] = {}
    except ImportError:  # Airflow 2.10
        from airflow.models.dagbag import DagBag

        arguments = {"include_examples": False}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bag = DagBag(dag_folder=folder, **arguments)
        dags = {
            dag_id: {
                task.task_id: probe_task(dag, task, kubeconfig, KubernetesPodOperator)
                for task in dag.tasks
            }
            for dag_id, dag in sorted(bag.dags.items())
        }
    root = os.path.realpath(folder) + os.sep
    own_warnings = {
        f"{w.category.__name__}: {w.message} ({os.path.basename(w.filename)}:{w.lineno})"
        for w in caught
        if os.path.realpath(w.filename).startswith(root)
    }
    # What the DagBag caught itself while parsing a file (Airflow 2.9 and later), formatted
    # "path:line: Category: message"; only those of the DAG files' own lines.
    for messages in (getattr(bag, "captured_warnings", None) or {}).values():
        own_warnings.update(str(m) for m in messages if os.path.realpath(str(m)).startswith(root))
    return {
        "errors": {str(k): str(v) for k, v in bag.import_errors.items()},
        "warnings": sorted(own_warnings),
        "dags": dags,
    }


def main(output: str, kubeconfig: str, folders: list[str]) -> None:
    import airflow

    result = {
        "python": platform.python_version(),
        "airflow": airflow.__version__,
        "providers": providers(),
        "folders": {folder: load_folder(folder, kubeconfig) for folder in folders},
    }
    with open(output, "w", encoding="utf-8") as out:
        json.dump(result, out, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
