"""Airflow's REST API in its two versions: v2 (Airflow 3) and v1 (Airflow 2.10).

Both versions serve the same calls at the same paths below their prefix, with answers of
slightly different shapes (:mod:`.wire`); :class:`RestApi` makes the calls and each version
says what differs: the shapes, the filters it offers and how a run is started.

The filters a version may ignore (Airflow 3.0 ignores ``bundle_name`` on the DAG list and
``filename_pattern`` on import errors; both work from 3.1.8) are sent to spare work where they
work, and applied again here, so every answer is right on every version.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, ClassVar

from kedro_airflow_k8s.airflow_api import records, wire
from kedro_airflow_k8s.airflow_api.api import BaseApi
from kedro_airflow_k8s.airflow_api.logs import log_lines
from kedro_airflow_k8s.airflow_api.messages import Reply
from kedro_airflow_k8s.airflow_api.paging import PAGE_SIZE, Page, pages
from kedro_airflow_k8s.airflow_api.records import (
    DagInfo,
    ImportErrorInfo,
    RunInfo,
    TaskInfo,
    read,
)
from kedro_airflow_k8s.airflow_api.transport import Query, path


def new_run_id() -> str:
    return f"manual__{datetime.now(timezone.utc).isoformat(timespec='microseconds')}"


class RestApi(BaseApi):
    """The calls, made the same way on both versions (see the module docstring)."""

    prefix: ClassVar[str]
    dag_shape: ClassVar[Any]
    details_shape: ClassVar[Any]
    dags_shape: ClassVar[Any]
    run_shape: ClassVar[Any]
    runs_shape: ClassVar[Any]
    tasks_shape: ClassVar[Any]
    errors_shape: ClassVar[Any]
    records: ClassVar[records.Makers]

    def _path(self, *parts: str) -> str:
        return self.prefix + path(*parts)

    def check_access(self) -> None:
        """Fail now, before anything is shipped, when the credentials do not open the API."""
        self.transport.request(
            "GET", self._path("dags"), "list DAGs", query={"limit": 1, "offset": 0}
        )

    # --- DAGs ---

    def get_dag(self, dag_id: str) -> DagInfo | None:
        reply = self.transport.request(
            "GET", self._path("dags", dag_id), f"read DAG '{dag_id}'", allow=(404,)
        )
        return None if reply.status == 404 else self.records.dag(self._read(reply, "dag"))

    def get_dag_details(self, dag_id: str) -> DagInfo | None:
        reply = self.transport.request(
            "GET",
            self._path("dags", dag_id, "details"),
            f"read the details of DAG '{dag_id}'",
            allow=(404,),
        )
        return None if reply.status == 404 else self.records.details(self._read(reply, "details"))

    def iter_dags(self, *, bundle_name: str | None = None) -> Iterator[DagInfo]:
        def fetch(offset: int) -> Page[DagInfo]:
            query: dict[str, Any] = {"limit": PAGE_SIZE, "offset": offset, "order_by": "dag_id"}
            query.update(self._dag_filters(bundle_name))
            reply = self.transport.request("GET", self._path("dags"), "list DAGs", query=query)
            body = self._read(reply, "dags")
            dags = [self.records.dag(item) for item in body["dags"]]
            return Page(dags, body["total_entries"], reply.endpoint)

        for dag in pages(self.transport, fetch, lambda dag: dag.dag_id):
            if bundle_name is None or dag.bundle_name in (None, bundle_name):
                yield dag

    def _dag_filters(self, bundle_name: str | None) -> Query:
        return {}

    def request_parse(self, file_token: str) -> bool:
        reply = self.transport.request(
            "PUT",
            self._path("parseDagFile", file_token),
            "request a parse of a DAG file",
            allow=(404, 409),  # 409: a request for that file is already queued
        )
        return reply.status != 404

    def unpause(self, dag_id: str) -> None:
        self.transport.request(
            "PATCH",
            self._path("dags", dag_id),
            f"unpause DAG '{dag_id}'",
            query={"update_mask": "is_paused"},
            body={"is_paused": False},
            not_found=self.missing_dag(dag_id),
        )

    # --- import errors ---

    def latest_import_error(self) -> datetime | None:
        newest = self._error_page(0, limit=1).items
        return newest[0].timestamp if newest else None

    def import_errors(
        self, filename_contains: str | None = None, *, newer_than: datetime | None = None
    ) -> list[ImportErrorInfo]:
        found: list[ImportErrorInfo] = []

        def fetch(offset: int) -> Page[ImportErrorInfo]:
            return self._error_page(offset, filename_contains=filename_contains)

        for error in pages(self.transport, fetch, lambda error: error.import_error_id):
            if newer_than is not None and error.timestamp and error.timestamp <= newer_than:
                break  # newest first: the rest is older still
            if not filename_contains or filename_contains in error.filename:
                # a trace may quote the environment: no secret leaves the client
                found.append(replace(error, stack_trace=self.transport.clean(error.stack_trace)))
        return found

    def _error_page(
        self, offset: int, *, limit: int = PAGE_SIZE, filename_contains: str | None = None
    ) -> Page[ImportErrorInfo]:
        query: dict[str, Any] = {"limit": limit, "offset": offset, "order_by": "-timestamp"}
        query.update(self._error_filters(filename_contains))
        reply = self.transport.request(
            "GET", self._path("importErrors"), "read import errors", query=query
        )
        body = self._read(reply, "errors")
        errors = [self.records.import_error(item) for item in body["import_errors"]]
        return Page(errors, body["total_entries"], reply.endpoint)

    def _error_filters(self, filename_contains: str | None) -> Query:
        return {}

    # --- runs ---

    def trigger(
        self, dag_id: str, conf: Mapping[str, Any] | None = None, *, run_id: str | None = None
    ) -> str:
        """Start a run now and return its run id.

        The run id is chosen here (``manual__<UTC time>`` unless given), so a retry after an
        answer that got lost cannot start a second run: Airflow answers 409 to the retry.
        """
        run_id = run_id or new_run_id()
        what = f"trigger DAG '{dag_id}'"
        reply = self.transport.request(
            "POST",
            self._path("dags", dag_id, "dagRuns"),
            what,
            body=self._trigger_body(run_id, dict(conf or {})),
            allow=(409,),
            not_found=self.missing_dag(dag_id),
        )
        if reply.status == 409:
            if reply.attempts > 1 and self._run_exists(dag_id, run_id):
                return run_id  # an earlier attempt went through; its answer was lost
            raise self.transport.http_error(what, reply, None)
        return self.records.run(self._read(reply, "run")).run_id or run_id

    def _trigger_body(self, run_id: str, conf: dict[str, Any]) -> dict[str, Any]:
        return {"dag_run_id": run_id, "conf": conf}

    def _run_exists(self, dag_id: str, run_id: str) -> bool:
        reply = self.transport.request(
            "GET",
            self._path("dags", dag_id, "dagRuns", run_id),
            f"read run '{run_id}' of DAG '{dag_id}'",
            allow=(404,),
        )
        return reply.status != 404

    def dag_run(self, dag_id: str, run_id: str) -> RunInfo:
        reply = self.transport.request(
            "GET",
            self._path("dags", dag_id, "dagRuns", run_id),
            f"read run '{run_id}' of DAG '{dag_id}'",
            not_found=self.missing_run(dag_id, run_id),
        )
        return self.records.run(self._read(reply, "run"))

    def last_run(self, dag_id: str) -> RunInfo | None:
        reply = self.transport.request(
            "GET",
            self._path("dags", dag_id, "dagRuns"),
            f"list the runs of DAG '{dag_id}'",
            query={"limit": 1, "order_by": "-id"},
            not_found=self.missing_dag(dag_id),
        )
        runs = self._read(reply, "runs")["dag_runs"]
        return self.records.run(runs[0]) if runs else None

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInfo]:
        what = f"list the tasks of run '{run_id}' of DAG '{dag_id}'"

        def fetch(offset: int) -> Page[TaskInfo]:
            reply = self.transport.request(
                "GET",
                self._path("dags", dag_id, "dagRuns", run_id, "taskInstances"),
                what,
                query={"limit": PAGE_SIZE, "offset": offset, **self._task_order()},
                not_found=self.missing_run(dag_id, run_id),
            )
            body = self._read(reply, "tasks")
            tasks = [self.records.task(item) for item in body["task_instances"]]
            return Page(tasks, body.get("total_entries"), reply.endpoint)

        return list(pages(self.transport, fetch, lambda task: (task.task_id, task.map_index)))

    def _task_order(self) -> Query:
        return {}

    def task_log_tail(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        try_number: int,
        lines: int = 40,
        *,
        map_index: int = -1,
    ) -> str:
        reply = self.transport.request(
            "GET",
            self._path(
                "dags", dag_id, "dagRuns", run_id, "taskInstances", task_id, "logs", str(try_number)
            ),
            f"read the log of task '{task_id}' (try {try_number}) of run '{run_id}'",
            query={"full_content": True, "map_index": map_index},
            allow=(404,),
            accept=self._log_type(),
        )
        if reply.status == 404 or lines <= 0:
            return ""
        text = self._log_lines(reply)[-lines:]
        return self.transport.clean("\n".join(text))

    def _log_type(self) -> str:
        return "application/json"

    def _log_lines(self, reply: Reply) -> list[str]:
        raise NotImplementedError

    def _read(self, reply: Reply, kind: str) -> Any:
        return read(self.transport, reply, getattr(type(self), f"{kind}_shape"))


class AirflowV2(RestApi):
    """Airflow 3: REST API v2."""

    prefix = "/api/v2"
    dag_shape = wire.DagV2
    details_shape = wire.DagDetailsV2
    dags_shape = wire.DagCollectionV2
    run_shape = wire.DagRunV2
    runs_shape = wire.DagRunCollectionV2
    tasks_shape = wire.TaskInstanceCollectionV2
    errors_shape = wire.ImportErrorCollectionV2
    records = records.V2

    def _dag_filters(self, bundle_name: str | None) -> Query:
        return {"bundle_name": bundle_name}

    def _error_filters(self, filename_contains: str | None) -> Query:
        return {"filename_pattern": filename_contains or None}  # ILIKE: refined here

    def _trigger_body(self, run_id: str, conf: dict[str, Any]) -> dict[str, Any]:
        # logical_date must be sent, and null: a run "now", as many as asked.
        return {**super()._trigger_body(run_id, conf), "logical_date": None}

    def _task_order(self) -> Query:
        return {"order_by": "id"}

    def _log_lines(self, reply: Reply) -> list[str]:
        return log_lines(read(self.transport, reply, wire.LogV2)["content"])


class AirflowV1(RestApi):
    """Airflow 2.10: REST API v1 (no bundles; a parse request parses the one file)."""

    prefix = "/api/v1"
    dag_shape = wire.DagV1
    details_shape = wire.DagDetailV1
    dags_shape = wire.DagCollectionV1
    run_shape = wire.DagRunV1
    runs_shape = wire.DagRunCollectionV1
    tasks_shape = wire.TaskInstanceCollectionV1
    errors_shape = wire.ImportErrorCollectionV1
    records = records.V1

    def _dag_filters(self, bundle_name: str | None) -> Query:
        return {"only_active": True}

    def _log_type(self) -> str:
        return "text/plain"  # its JSON holds a Python repr of (host, text) pairs

    def _log_lines(self, reply: Reply) -> list[str]:
        return reply.body.decode("utf-8", "replace").splitlines()
