"""The compile side of ``run_config.execution: local``: the same plan, every node task a
``kedro run`` process of the Airflow worker (``runtime/local.py`` runs it).

The plan is made from the whole config, exactly as for Kubernetes (the same tasks, groups,
TaskGroups and dependencies; resource and pod-template tags are checked as usual). The SPEC is
then built from :func:`spec_config` (the config without the sections that would add Kubernetes
tasks or need a cluster) and finished by :func:`localize_spec` (no pod settings, profiles or
templates; the ``local`` section the runtime reads). Every Kubernetes-only setting the config sets
is reported once by :func:`ignored_settings`, so that one config serves both modes through a Kedro
environment that sets ``execution: local``.
"""

from __future__ import annotations

import posixpath
import sys
from typing import TYPE_CHECKING, Any, Final

from kedro_airflow_k8s.config.models import RunConfig
from kedro_airflow_k8s.features.api import Artifacts, Feature, SectionInputs
from kedro_airflow_k8s.features.in_memory import IN_MEMORY_ON_VOLUME
from kedro_airflow_k8s.features.local.config import EXECUTION_KUBERNETES

if TYPE_CHECKING:
    from kedro_airflow_k8s.project import LoadedProject
    from kedro_airflow_k8s.runtime.spec import DagSpec, LocalSpec

SPEC_KEY: Final = "local"

#: What SPEC["pod"]["image"] and the MLflow run's image tag say in a DAG that executes locally.
LOCAL_IMAGE = "local"
#: Where ``in_memory.storage: volume`` keeps the datasets locally, under the project's folder.
LOCAL_IN_MEMORY_FOLDER = "data/kedro-airflow-k8s-in-memory"

_NOT_IN_THE_POD = "the tasks run in run_config.local.python on the Airflow worker"
#: run_config keys that mean nothing on the worker, and why (in the order of the config).
KUBERNETES_ONLY: tuple[tuple[str, str], ...] = (
    ("image", f"no image: {_NOT_IN_THE_POD}"),
    ("image_pull_policy", "no image to pull"),
    ("startup_time", "no pod to start"),
    ("namespace", "no pods, no namespace"),
    ("image_pull_secrets", "no image to pull"),
    ("service_account_name", "no pods, no service account"),
    ("kubernetes_conn_id", "no Kubernetes API is called"),
    (
        "volume",
        "no per-run volume: the tasks share the worker's disk (the catalog's paths under "
        "run_config.local.project_path)",
    ),
    (
        "secrets",
        "Kubernetes Secrets do not reach the process: pass such values as Airflow Variables "
        "(run_config.env_vars) or in the worker's environment",
    ),
    (
        "resources",
        "no requests, limits, node selectors, labels, annotations, tolerations or affinity: "
        "every task gets what the worker has",
    ),
    ("kubernetes_pod_templates", "no pods to template"),
    (
        "spark",
        "spark groups run as a local `kedro run` with the project's own Spark session, no "
        "Dataproc, Kubernetes or custom spark job and no artifacts to upload",
    ),
)


def _is_set(run_config: RunConfig, name: str) -> bool:
    default = RunConfig.model_fields[name].get_default(call_default_factory=True)
    value = getattr(run_config, name)
    if name == "volume" and value is not None and value.disabled:
        return False  # a disabled volume is no volume
    return bool(value != default)


def local_settings(run_config: RunConfig, project_path: str) -> tuple[str, str]:
    """``(project_path, python)`` on the worker: the config's, else the project that compiles
    and the interpreter running the compiler (kept as it is: a virtualenv's python is a link)."""
    local = run_config.local
    return local.project_path or project_path, local.python or sys.executable


def _in_memory_folder(project_path: str) -> str:
    return posixpath.join(project_path, LOCAL_IN_MEMORY_FOLDER)


def ignored_settings(
    run_config: RunConfig, project_path: str, *, image_option: str | None = None
) -> list[str]:
    """One warning per Kubernetes-only setting the config sets (and ``--image`` when given)."""
    where = "ignored with run_config.execution: local"
    out = [
        f"run_config.{name}: {where} ({why})"
        for name, why in KUBERNETES_ONLY
        if _is_set(run_config, name)
    ]
    if image_option:
        out.append(f"--image {image_option}: {where} ({_NOT_IN_THE_POD})")
    in_memory = run_config.in_memory
    if in_memory is not None and in_memory.storage == IN_MEMORY_ON_VOLUME:
        folder = _in_memory_folder(local_settings(run_config, project_path)[0])
        out.append(
            f"run_config.in_memory.storage: volume: there is no volume locally; in-memory "
            f"datasets that cross tasks are kept in {folder}"
        )
    return out


def spec_config(run_config: RunConfig, project_path: str) -> RunConfig:
    """The config the local SPEC is built from: no spark jobs, no volume tasks; in-memory
    datasets on the volume kept in a folder of the project instead. ``resources`` and
    ``kubernetes_pod_templates`` stay for the plan's tasks to find; :func:`localize_spec`
    drops what they give."""
    update: dict[str, Any] = {
        "execution": EXECUTION_KUBERNETES,  # the pod SPEC, which localize_spec then finishes
        "spark": None,
        "volume": None,
        "image": None,
    }
    in_memory = run_config.in_memory
    if in_memory is not None and in_memory.storage == IN_MEMORY_ON_VOLUME:
        from kedro_airflow_k8s.features.in_memory.config import InMemoryConfig  # defined by now

        folder = _in_memory_folder(local_settings(run_config, project_path)[0])
        update["in_memory"] = InMemoryConfig(storage=folder)
    return run_config.model_copy(update=update)


def localize_spec(
    spec: DagSpec,
    run_config: RunConfig,
    *,
    project_path: str,
    warnings: list[str],
    pod_phrase: str,
) -> DagSpec:
    """The SPEC of a DAG that executes locally, from the one :func:`spec_config` made: no pod
    settings (but the environment, which the process gets), profiles or templates, and the
    ``local`` section; ``pod_phrase`` is what the DAG's documentation said about pods."""
    path, python = local_settings(run_config, project_path)
    pod = spec["pod"].copy()
    defaults = RunConfig()
    pod.update(
        {
            "image": LOCAL_IMAGE,
            "image_pull_policy": defaults.image_pull_policy,
            "namespace": defaults.namespace,
            "startup_timeout_seconds": defaults.startup_time,
            "service_account_name": None,
            "kubernetes_conn_id": None,
            "image_pull_secrets": [],
            "secrets": [],
        }
    )
    dag = spec["dag"].copy()
    dag["doc_md"] = dag["doc_md"].replace(pod_phrase, "each task a `kedro run` on the worker")
    local = spec.copy()
    local["dag"] = dag
    local["pod"] = pod
    local["profiles"] = {}
    local["tasks"] = [{**task, "profile": None, "pod_template": None} for task in spec["tasks"]]
    local["pod_templates"] = {}
    local["local"] = {"project_path": path, "python": python, "warnings": list(warnings)}
    return local


class LocalFeature(Feature):
    """Not a section among the others: ``build_spec`` builds the whole SPEC of a local DAG from
    :func:`spec_config` and finishes it with :func:`localize_spec`, which writes the section."""

    spec_key = SPEC_KEY
    runtime_module = "local"
    extension = "LocalExtension(untemplated)"

    def section(self, inputs: SectionInputs) -> LocalSpec | None:
        return None  # written by localize_spec

    def warnings(
        self, spec: DagSpec, loaded: LoadedProject, artifacts: Artifacts | None
    ) -> list[str]:
        """The Kubernetes-only settings the local DAG ignores (see :func:`ignored_settings`)."""
        section = spec.get("local")
        return list(section["warnings"]) if section else []

    def summary_note(self, spec: DagSpec) -> str | None:
        if not spec.get("local"):
            return None
        return "local execution: each task a `kedro run` on the Airflow worker"


FEATURE = LocalFeature()
