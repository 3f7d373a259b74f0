"""Build a SPEC's DAG twice, once as the runtime builder wires it (its ``link``) and once with
Airflow's own ``>>`` for every dependency, and describe both DAGs the same way.

Standard library and Airflow only, so it runs in-process under Airflow 3 and, as a script, in
the Airflow 2.10 virtualenv:

    python wiring_probe.py RUNTIME_SOURCE_FILE

reads one JSON SPEC per line on standard input and writes one JSON line per SPEC:
``{"version": ..., "ours": <shape>, "airflow": <shape>}`` (or ``{"error": ...}``).

The runtime source is the text a generated DAG file embeds (the builder, then the sensors,
mlflow, volume, memory and spark modules). The extensions are those the renderer would give for
the SPEC's sections; a spark section gets a custom operator factory of EmptyOperators (in the
task SDK of Airflow 3 and in the core of Airflow 2.10).
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any


def load_runtime(source: str) -> dict[str, Any]:
    """The names a generated DAG file defines before its ``dag = build_dag(...)`` line."""
    namespace: dict[str, Any] = {"__name__": "kak8s_generated_dag"}
    exec(compile(source, "generated_dag.py", "exec"), namespace)
    return namespace


def with_airflow_wiring(source: str) -> dict[str, Any]:
    """The same runtime, but every dependency set by Airflow's ``upstream >> downstream``."""
    namespace = load_runtime(source)

    def airflow_link(upstream: Any, downstream: Any) -> None:
        upstream >> downstream

    namespace["link"] = airflow_link
    return namespace


def _empty_operator() -> Any:
    try:  # Airflow 3
        from airflow.providers.standard.operators.empty import EmptyOperator
    except ImportError:  # Airflow 2.10
        from airflow.operators.empty import EmptyOperator  # type: ignore[no-redef]
    return EmptyOperator


def _custom_spark_operators(spec: dict[str, Any]) -> dict[str, Any]:
    """A custom spark operator factory's callables, as a generated file defines them."""
    empty = _empty_operator()
    spark = spec["spark"]
    short = {task["full_task_id"]: task["task_id"] for task in spec["tasks"]}
    return {
        "create": lambda: empty(task_id=spark["create_task_id"]),
        "delete": lambda: empty(task_id=spark["delete_task_id"]),
        "submit": {
            full: (lambda task_id=short[full]: empty(task_id=task_id)) for full in spark["tasks"]
        },
    }


def extensions(namespace: dict[str, Any], spec: dict[str, Any]) -> list[Any]:
    """The extensions the renderer gives a SPEC, in its order (sensors, mlflow, volume, memory,
    spark)."""
    out: list[Any] = []
    if spec.get("external_dependencies"):
        out.append(namespace["SensorsExtension"])
    if spec.get("mlflow"):
        out.append(namespace["MlflowExtension"])
    if spec.get("volume"):
        out.append(namespace["VolumeExtension"](namespace["untemplated"]))
    if spec.get("memory"):
        out.append(namespace["MemoryExtension"])
    if spec.get("spark"):
        spark = namespace["SparkExtension"]
        out.append(spark(namespace["untemplated"], _custom_spark_operators(spec)))
    return out


def serialized(dag: Any) -> Any:
    """Airflow's serialized form of the DAG (what the DAG processor stores), as JSON data."""
    try:  # Airflow 3
        from airflow.serialization.serialized_objects import DagSerialization as serializer
    except ImportError:  # Airflow 2.10
        from airflow.serialization.serialized_objects import (  # type: ignore[attr-defined]
            SerializedDAG as serializer,
        )
    return json.loads(json.dumps(serializer.to_dict(dag), sort_keys=True, default=repr))


def _group_id(group: Any) -> str | None:
    return None if group is None else group.group_id


def shape(dag: Any) -> dict[str, Any]:
    """Everything the wiring decides: tasks, their relatives and groups, the TaskGroups and
    their relatives, roots and leaves, and the serialized DAG."""
    tasks = {
        task.task_id: {
            "type": type(task).__name__,
            "upstream": sorted(task.upstream_task_ids),
            "downstream": sorted(task.downstream_task_ids),
            "group": _group_id(task.task_group),
        }
        for task in dag.tasks
    }
    groups = {
        str(group_id): {
            "children": sorted(group.children),
            "parent": _group_id(group.parent_group),
            "upstream_group_ids": sorted(map(str, group.upstream_group_ids)),
            "downstream_group_ids": sorted(map(str, group.downstream_group_ids)),
            "upstream_task_ids": sorted(group.upstream_task_ids),
            "downstream_task_ids": sorted(group.downstream_task_ids),
        }
        for group_id, group in dag.task_group.get_task_group_dict().items()
    }
    return {
        "tasks": tasks,
        "groups": groups,
        "roots": sorted(task.task_id for task in dag.roots),
        "leaves": sorted(task.task_id for task in dag.leaves),
        "serialized": serialized(dag),
    }


class Probe:
    """The runtime loaded twice: as generated files have it, and wired by ``>>``."""

    def __init__(self, source: str) -> None:
        self.ours = load_runtime(source)
        self.reference = with_airflow_wiring(source)

    def compare(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The shapes of the SPEC's DAG as the builder wires it and as ``>>`` wires it."""
        import copy

        import airflow

        shapes = {}
        for name, namespace in (("ours", self.ours), ("airflow", self.reference)):
            dag = namespace["build_dag"](copy.deepcopy(spec), extensions(namespace, spec))
            shapes[name] = shape(dag)
        return {"version": airflow.__version__, **shapes}


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as handle:
        probe = Probe(handle.read())
    for line in sys.stdin:
        try:
            answer = probe.compare(json.loads(line))
        except Exception:  # reported to the test, which fails with it
            answer = {"error": traceback.format_exc()}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
