"""In-memory datasets that cross pods, kept in per-run storage (``run_config.in_memory``).

This module runs inside Airflow: the renderer embeds its source verbatim after the DAG builder's
when the SPEC has a ``memory`` section, and the file ends with
``build_dag(SPEC, extensions=[..., MemoryExtension])``. The plugin's Kedro hook, which runs in the
pods, imports it from the installed package too, so both sides agree on names and paths. It
imports only the standard library; no ``from __future__``. Its private names start with
``_memory_``, its public ones with ``memory_``/``Memory``/``MEMORY_``.

``SPEC["memory"]``::

    {"storage": "gs://bucket/prefix"}   # where every run gets a folder of its own

and each task of the SPEC lists the in-memory datasets it writes for, or reads from, another
task under ``"memory_datasets"``. Such a task's pod gets two environment variables:

* ``KEDRO_AIRFLOW_K8S_MEMORY_STORAGE``: the run's folder, ``<storage>/<dag id>/<run id>``, each
  id made a safe path segment (:func:`memory_path_segment`) when Airflow renders the pod, through
  the DAG macro ``kedro_memory_storage``;
* ``KEDRO_AIRFLOW_K8S_MEMORY_DATASETS``: the dataset names as a JSON list.

In the pod, the hook (``kedro_airflow_k8s.hooks``) registers each listed dataset in the catalog as
a pickle file ``<run folder>/<dataset>.pickle``: the task that writes it saves it there, the tasks
that read it load it from there. Concurrent runs never share a folder.
"""

import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the SPEC's types; never imported inside Airflow (runtime/spec.py)
    from .spec import DagSpec, TaskSpec


MEMORY_STORAGE_ENV = "KEDRO_AIRFLOW_K8S_MEMORY_STORAGE"
MEMORY_DATASETS_ENV = "KEDRO_AIRFLOW_K8S_MEMORY_DATASETS"
MEMORY_MACRO = "kedro_memory_storage"
MEMORY_STORAGE_TEMPLATE = "{{ " + MEMORY_MACRO + "(dag.dag_id, run_id) }}"
MEMORY_FILE_SUFFIX = ".pickle"

_MEMORY_UNSAFE = re.compile(r"[^A-Za-z0-9_.@-]")
_MEMORY_SEGMENT_MAX = 120
_MEMORY_HASH_LENGTH = 10


def memory_path_segment(text: str) -> str:
    """``text`` as one path segment of any storage (object stores, local folders).

    Letters, digits, ``_``, ``.``, ``@`` and ``-`` are kept; when anything else had to change (or
    the name is too long, or ``.``/``..``), a hash of the original keeps different names apart.
    """
    safe = _MEMORY_UNSAFE.sub("_", text)
    if safe == text and len(safe) <= _MEMORY_SEGMENT_MAX and safe.strip(".") != "":
        return safe
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{safe[:_MEMORY_SEGMENT_MAX]}-{digest[:_MEMORY_HASH_LENGTH]}"


def memory_run_storage(storage: str, dag_id: str, run_id: str) -> str:
    """The folder of one DAG run under ``storage``."""
    base = storage.rstrip("/") or "/"
    separator = "" if base.endswith("/") else "/"
    return f"{base}{separator}{memory_path_segment(dag_id)}/{memory_path_segment(run_id)}"


def memory_dataset_path(run_storage: str, dataset: str) -> str:
    """Where a dataset of the run is kept."""
    return f"{run_storage.rstrip('/')}/{memory_path_segment(dataset)}{MEMORY_FILE_SUFFIX}"


def memory_datasets_value(names: Any) -> str:
    """The value of ``KEDRO_AIRFLOW_K8S_MEMORY_DATASETS`` for these dataset names."""
    return json.dumps([str(name) for name in names], ensure_ascii=True)


def memory_read_datasets(value: str) -> list[str]:
    """The dataset names of ``KEDRO_AIRFLOW_K8S_MEMORY_DATASETS`` (a ValueError when malformed)."""
    try:
        names = json.loads(value)
    except ValueError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ValueError(
            f"{MEMORY_DATASETS_ENV} must be a JSON list of dataset names, not {value[:80]!r}"
        )
    return names


class MemoryExtension:
    """DAG builder extension (see dag_builder): in-memory datasets kept in per-run storage."""

    @staticmethod
    def dag_arguments(spec: "DagSpec", kwargs: dict[str, Any]) -> None:
        memory = spec.get("memory")
        if memory is None:
            raise ValueError("MemoryExtension needs the SPEC's memory section")
        storage = memory["storage"]

        def run_storage(dag_id: str, run_id: str) -> str:
            return memory_run_storage(storage, dag_id, run_id)

        macros = dict(kwargs.get("user_defined_macros") or {})
        macros[MEMORY_MACRO] = run_storage
        kwargs["user_defined_macros"] = macros

    @staticmethod
    def pod_arguments(spec: "DagSpec", task: "TaskSpec", kwargs: dict[str, Any]) -> None:
        names = task.get("memory_datasets") or []
        if not names:
            return
        env = dict(kwargs.get("env_vars") or {})
        env[MEMORY_STORAGE_ENV] = {"jinja": MEMORY_STORAGE_TEMPLATE}
        env[MEMORY_DATASETS_ENV] = memory_datasets_value(names)  # plain text: never rendered
        kwargs["env_vars"] = env
