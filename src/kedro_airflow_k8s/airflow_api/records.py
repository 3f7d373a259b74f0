"""What the API answers, as typed records, and the check of every answer against its shape.

:func:`read` parses an answer's JSON and validates it against the shape the API promises
(:mod:`.wire`, checked by pydantic in strict mode); anything else is a one-line
:class:`~kedro_airflow_k8s.errors.RemoteError` naming the endpoint. The records are the
plugin's own view, the same for both API versions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from kedro_airflow_k8s.airflow_api import messages, wire
from kedro_airflow_k8s.airflow_api.messages import Reply

if TYPE_CHECKING:
    from kedro_airflow_k8s.airflow_api.transport import Transport

T = TypeVar("T")


@dataclass(frozen=True)
class DagInfo:
    dag_id: str
    is_paused: bool
    tags: tuple[str, ...]
    file_token: str
    bundle_name: str | None
    fileloc: str
    relative_fileloc: str | None
    has_import_errors: bool
    is_stale: bool
    doc_md: str | None = None  # in the answers about one DAG's details only


@dataclass(frozen=True)
class RunInfo:
    dag_id: str
    run_id: str
    state: str | None
    run_type: str | None
    start_date: datetime | None
    end_date: datetime | None

    @property
    def finished(self) -> bool:
        return self.state in ("success", "failed")


@dataclass(frozen=True)
class TaskInfo:
    task_id: str
    state: str | None
    try_number: int
    map_index: int
    start_date: datetime | None
    end_date: datetime | None


@dataclass(frozen=True)
class ImportErrorInfo:
    import_error_id: int
    filename: str
    bundle_name: str | None
    stack_trace: str
    timestamp: datetime | None


# --- reading answers ---


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}  # built once per shape (pydantic compiles them)


def _adapter(shape: Any) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(shape)
    if adapter is None:
        adapter = _ADAPTERS[shape] = TypeAdapter(shape)
    return adapter


def read(transport: Transport, reply: Reply, shape: type[T]) -> T:
    """The answer's JSON, checked against ``shape`` (a :mod:`.wire` TypedDict)."""
    try:
        data = reply.json()
    except ValueError as exc:  # its text quotes no more than one byte of the body
        raise transport.error(messages.not_json(transport.host, reply)) from exc
    try:
        checked: T = _adapter(shape).validate_python(data, strict=True)
    except ValidationError as exc:
        # Not chained: pydantic's text quotes the input, and an answer may echo a token.
        first = exc.errors(include_url=False, include_input=False)[0]
        where = _where(first["loc"])
        problem = str(first["msg"])
        raise transport.error(
            messages.wrong_shape(transport.host, reply, where, problem[:1].lower() + problem[1:])
        ) from None
    return checked


def _where(loc: tuple[int | str, ...]) -> str:
    """``dags[0].dag_id`` from pydantic's loc (without its names of union branches)."""
    text = ""
    for item in loc:
        if isinstance(item, int):
            text += f"[{item}]"
        elif "[" not in item and item not in ("str", "int", "bool", "none"):
            text += f".{item}" if text else item
    return text or "(the whole answer)"


def when(value: str | None) -> datetime | None:
    """A datetime from the API's ISO strings (``Z`` and any number of fraction digits)."""
    if not value:
        return None
    text = re.sub(r"Z$", "+00:00", value.strip())
    text = re.sub(r"\.(\d+)", lambda m: "." + (m.group(1) + "000000")[:6], text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _tags(tags: list[wire.Tag] | None) -> tuple[str, ...]:
    return tuple(tag["name"] for tag in tags or [])


# --- both versions ---


def _run(item: wire.DagRunV2 | wire.DagRunV1) -> RunInfo:
    return RunInfo(
        dag_id=item["dag_id"],
        run_id=item["dag_run_id"] or "",  # nullable in v1's document
        state=item["state"],
        run_type=item["run_type"],
        start_date=when(item["start_date"]),
        end_date=when(item["end_date"]),
    )


def _task(item: wire.TaskInstanceV2 | wire.TaskInstanceV1) -> TaskInfo:
    return TaskInfo(
        task_id=item["task_id"],
        state=item["state"],
        try_number=item["try_number"],
        map_index=item["map_index"],
        start_date=when(item["start_date"]),
        end_date=when(item["end_date"]),
    )


def _import_error(
    item: wire.ImportErrorV2 | wire.ImportErrorV1, bundle_name: str | None = None
) -> ImportErrorInfo:
    return ImportErrorInfo(
        import_error_id=item["import_error_id"],
        filename=item["filename"],
        bundle_name=bundle_name,
        stack_trace=item["stack_trace"],
        timestamp=when(item["timestamp"]),
    )


# --- REST API v2 (Airflow 3) ---


def _dag_v2(item: wire.DagV2) -> DagInfo:
    return DagInfo(
        dag_id=item["dag_id"],
        is_paused=item["is_paused"],
        tags=_tags(item["tags"]),
        file_token=item["file_token"],
        bundle_name=item.get("bundle_name"),
        fileloc=item["fileloc"],
        relative_fileloc=item.get("relative_fileloc"),
        has_import_errors=item["has_import_errors"],
        is_stale=item.get("is_stale", False),
    )


def _import_error_v2(item: wire.ImportErrorV2) -> ImportErrorInfo:
    return _import_error(item, item.get("bundle_name"))


# --- REST API v1 (Airflow 2.10) ---


def _dag_v1(item: wire.DagV1) -> DagInfo:
    return DagInfo(
        dag_id=item["dag_id"],
        is_paused=bool(item["is_paused"]),
        tags=_tags(item["tags"]),
        file_token=item["file_token"],
        bundle_name=None,
        fileloc=item["fileloc"],
        relative_fileloc=None,
        has_import_errors=bool(item.get("has_import_errors")),
        is_stale=item.get("is_active") is False,
    )


def _details_v2(item: wire.DagDetailsV2) -> DagInfo:
    return replace(_dag_v2(item), doc_md=item["doc_md"])


def _details_v1(item: wire.DagDetailV1) -> DagInfo:
    return replace(_dag_v1(item), doc_md=item.get("doc_md"))


@dataclass(frozen=True)
class Makers:
    """The functions that make records of one API version's answers."""

    dag: Callable[[Any], DagInfo]
    details: Callable[[Any], DagInfo]
    run: Callable[[Any], RunInfo]
    task: Callable[[Any], TaskInfo]
    import_error: Callable[[Any], ImportErrorInfo]


V2 = Makers(dag=_dag_v2, details=_details_v2, run=_run, task=_task, import_error=_import_error_v2)
V1 = Makers(dag=_dag_v1, details=_details_v1, run=_run, task=_task, import_error=_import_error)
