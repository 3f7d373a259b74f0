"""The SPEC: the plain data the renderer writes into every generated DAG file and the runtime
builds the DAG from. One declaration of its shape for both sides.

The renderer (``render/dag.py`` and each feature's ``features/<feature>/feature.py``) returns
these types and mypy checks what it builds; the runtime modules name them in their annotations,
so mypy checks what they read. The DAG file holds ``SPEC = {...}`` as a Python literal: only
``None``, booleans, numbers, strings, lists and dicts with string keys.
``tests/test_spec_contract.py`` checks real compiles against these types at run time.

This module is never embedded into a DAG file: it uses the standard library only, and the
runtime modules import it under ``TYPE_CHECKING`` only (relative import, quoted annotations), so
the generated file never needs it. Keys a section may leave out are declared in a
``total=False`` part (Python 3.10 has no ``NotRequired``).

A feature's section is ``None`` when the feature is off for the DAG. The renderer writes every
section; SPECs written by hand (tests, the local execution section) may leave one out.
"""

from typing import Any, TypedDict


class JinjaValue(TypedDict):
    """A value Airflow renders: ``{"jinja": template}`` (every other string stays verbatim)."""

    jinja: str


#: A string, or a template Airflow renders (the ``--params`` argument, Variables).
Text = str | JinjaValue


# --- the core ------------------------------------------------------------------------------------


class DefaultArgs(TypedDict):
    owner: str
    retries: int
    retry_delay_seconds: int


class DagSection(TypedDict):
    """``SPEC["dag"]``: the ``DAG(...)`` arguments."""

    dag_id: str
    description: str | None
    doc_md: str
    schedule: str | None
    start_date: list[int]  # [year, month, day], UTC
    max_active_runs: int
    default_args: DefaultArgs
    tags: list[str]


class _SecretRequired(TypedDict):
    secret: str
    deploy_type: str  # "env" or "volume"


class SecretSpec(_SecretRequired, total=False):
    deploy_target: str
    key: str


class PodSection(TypedDict):
    """``SPEC["pod"]``: what every node pod shares."""

    image: str
    image_pull_policy: str
    namespace: str
    startup_timeout_seconds: int
    service_account_name: str | None
    kubernetes_conn_id: str | None
    image_pull_secrets: list[str]
    secrets: list[SecretSpec]
    env_vars: dict[str, Text]


class ProfileSpec(TypedDict):
    """A resource profile as Kubernetes writes it (``SPEC["profiles"][name]``)."""

    requests: dict[str, str | int | float]  # Kubernetes quantities
    limits: dict[str, str | int | float]
    node_selector: dict[str, str]
    labels: dict[str, str]
    annotations: dict[str, str]
    tolerations: list[dict[str, Any]]  # V1Toleration fields, camelCase
    affinity: dict[str, Any]  # a V1Affinity, camelCase; empty: none


class PodTemplateSpec(TypedDict):
    template: dict[str, Any]  # the pod manifest, parsed
    image: str | None  # wins over SPEC["pod"]["image"] for the pods of the template


class _TaskRequired(TypedDict):
    task_id: str  # inside its TaskGroup
    full_task_id: str  # group path and id, joined by "."
    group: list[str]
    pod_name: str
    kind: str  # "pod" or "spark"
    nodes: list[str]
    profile: str | None
    pod_template: str | None
    arguments: list[Text]  # kedro run ... (the image's entrypoint is kept)
    upstream: list[str]  # full task ids


class TaskSpec(_TaskRequired, total=False):
    memory_datasets: list[str]  # in-memory datasets kept in the run's storage


# --- the features' sections -----------------------------------------------------------------------


class SensorSpec(TypedDict):
    """One ``SPEC["external_dependencies"]`` entry (an ExternalTaskSensor)."""

    task_id: str
    dag_id: str
    external_task_id: str | None
    timeout_minutes: int
    check_existence: bool
    execution_delta_minutes: int


class AlertSpec(TypedDict):
    """One ``SPEC["failure_handlers"]`` entry (a failure callback)."""

    type: str  # "slack"
    connection_id: str
    message_template: str


class VolumeSpec(TypedDict):
    """``SPEC["volume"]`` (runtime/volume.py)."""

    storage_class: str | None
    size: str
    access_modes: list[str]
    skip_init: bool
    owner: int
    mount_path: str
    create_task_id: str
    delete_task_id: str


class MemorySpec(TypedDict):
    """``SPEC["memory"]`` (runtime/memory.py)."""

    storage: str  # every run gets <storage>/<dag id>/<run id>


class MlflowAuthSpec(TypedDict):
    type: str  # "Null", "GoogleOAuth2" or "Vars"
    params: list[str]


class _MlflowRequired(TypedDict):
    tracking_uri: str
    experiment_name: str


class MlflowSpec(_MlflowRequired, total=False):
    """``SPEC["mlflow"]`` (runtime/mlflow_run.py); the renderer writes every key."""

    run_name: str  # absent: the DAG id
    image: str
    task_id: str  # absent: MLFLOW_START_TASK_ID
    end_task_id: str | None  # None: no end task
    artifact_location: str | None
    experiment_tags: dict[str, str]
    auth: MlflowAuthSpec


class _ClusterRequired(TypedDict):
    name_base: str
    project_id: str | None
    region: str | None
    gcp_conn_id: str


class SparkClusterSpec(_ClusterRequired, total=False):
    cluster_config: dict[str, Any]  # dataproc: the API's ClusterConfig


class DataprocJobSpec(TypedDict):
    main_python_file_uri: str
    args: list[Text]
    properties: dict[str, str]


class K8sJobSpec(TypedDict):
    application: str
    conn_id: str
    name: str
    conf: dict[str, Any]
    application_args: list[Text]


class _SparkRequired(TypedDict):
    type: str  # "dataproc", "k8s" or "custom"
    tasks: list[str]  # the full ids of the spark tasks
    # full task id -> its job (dataproc, k8s; custom: none)
    jobs: dict[str, DataprocJobSpec | K8sJobSpec]


class SparkSpec(_SparkRequired, total=False):
    """``SPEC["spark"]`` (runtime/spark.py); the cluster keys with dataproc and custom."""

    create_task_id: str
    delete_task_id: str
    create_after: list[str]
    cluster: SparkClusterSpec


class _LocalRequired(TypedDict):
    project_path: str  # the Kedro project's folder on the worker
    python: str  # the interpreter with Kedro and the project's dependencies
    warnings: list[str]  # what the compiler left out (Kubernetes-only settings)


class LocalSpec(_LocalRequired, total=False):
    """``SPEC["local"]`` (runtime/local.py): node tasks run ``kedro run`` on the worker."""

    kill_timeout_seconds: float


class _CoreSpec(TypedDict):
    dag: DagSection
    pod: PodSection
    profiles: dict[str, ProfileSpec]
    task_groups: list[list[str]]
    tasks: list[TaskSpec]
    final_task_id: str


class DagSpec(_CoreSpec, total=False):
    """The whole SPEC: the core, then one section per feature (its key, its type)."""

    pod_templates: dict[str, PodTemplateSpec]
    external_dependencies: list[SensorSpec]
    failure_handlers: list[AlertSpec]
    mlflow: MlflowSpec | None
    volume: VolumeSpec | None
    memory: MemorySpec | None
    spark: SparkSpec | None
    local: LocalSpec | None
