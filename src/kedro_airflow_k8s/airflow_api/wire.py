"""The JSON shapes of the answers the client reads, as Airflow's OpenAPI documents promise them.

Only the fields the plugin reads are declared (Airflow may send more). The client checks every
answer against its shape (:func:`kedro_airflow_k8s.airflow_api.records.read`), the test stand-in
builds its answers from the same types, and a test compares each type with the OpenAPI document
that ships with Airflow 3 (REST API v2, ``*V2``) and Airflow 2.10 (REST API v1, ``*V1``).

``NotRequired`` marks what some supported versions do not send. (No postponed annotations
here: ``NotRequired`` must be seen when the class is made, or ``__required_keys__`` is wrong.)
"""

from typing import Any

from typing_extensions import NotRequired, TypedDict

# --- both versions ---


class Tag(TypedDict):
    name: str


class Version(TypedDict):
    version: str


class LogRecord(TypedDict, total=False):
    """One structured log line of Airflow 3 (``StructuredLogMessage``)."""

    event: str
    timestamp: str
    level: str
    error_detail: Any


# --- Airflow 3: REST API v2 ---


class TokenV2(TypedDict):
    """``POST /auth/token``."""

    access_token: str


class DagV2(TypedDict):
    dag_id: str
    is_paused: bool
    tags: list[Tag]
    file_token: str
    fileloc: str
    has_import_errors: bool
    is_stale: NotRequired[bool]
    bundle_name: NotRequired[str | None]
    relative_fileloc: NotRequired[str | None]


class DagDetailsV2(DagV2):
    doc_md: str | None  # from the DAG version a new run starts from


class DagCollectionV2(TypedDict):
    dags: list[DagV2]
    total_entries: int


class DagRunV2(TypedDict):
    dag_run_id: str
    dag_id: str
    state: str
    run_type: str
    start_date: str | None
    end_date: str | None
    run_after: NotRequired[str]


class DagRunCollectionV2(TypedDict):
    dag_runs: list[DagRunV2]
    total_entries: NotRequired[int | None]


class TaskInstanceV2(TypedDict):
    task_id: str
    state: str | None
    try_number: int
    map_index: int
    start_date: str | None
    end_date: str | None


class TaskInstanceCollectionV2(TypedDict):
    task_instances: list[TaskInstanceV2]
    total_entries: NotRequired[int | None]


class ImportErrorV2(TypedDict):
    import_error_id: int
    timestamp: str
    filename: str
    stack_trace: str
    bundle_name: NotRequired[str | None]


class ImportErrorCollectionV2(TypedDict):
    import_errors: list[ImportErrorV2]
    total_entries: int


class LogV2(TypedDict):
    content: list[LogRecord] | list[str]


# --- Airflow 2.10: REST API v1 ---


class DagV1(TypedDict):
    dag_id: str
    is_paused: bool | None
    tags: list[Tag] | None
    file_token: str
    fileloc: str
    is_active: NotRequired[bool | None]
    has_import_errors: NotRequired[bool | None]


class DagDetailV1(DagV1):
    doc_md: NotRequired[str | None]


class DagCollectionV1(TypedDict):
    dags: list[DagV1]
    total_entries: int


class DagRunV1(TypedDict):
    dag_run_id: str | None
    dag_id: str
    state: str
    run_type: str
    start_date: str | None
    end_date: str | None


class DagRunCollectionV1(TypedDict):
    dag_runs: list[DagRunV1]
    total_entries: int


TaskInstanceV1 = TaskInstanceV2  # the same fields in both versions


class TaskInstanceCollectionV1(TypedDict):
    task_instances: list[TaskInstanceV1]
    total_entries: int


class ImportErrorV1(TypedDict):
    import_error_id: int
    timestamp: str
    filename: str
    stack_trace: str


class ImportErrorCollectionV1(TypedDict):
    import_errors: list[ImportErrorV1]
    total_entries: int
