"""The Airflow API as the operate workflows use it: one :class:`AirflowApi` protocol, two versions.

:class:`~kedro_airflow_k8s.airflow_api.v2.AirflowV2` speaks Airflow 3's REST API v2 and
:class:`~kedro_airflow_k8s.airflow_api.v1.AirflowV1` Airflow 2.10's REST API v1; both answer
with the records of :mod:`.records`. The test stand-ins implement the same protocol.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from typing_extensions import Self

from kedro_airflow_k8s.airflow_api.records import DagInfo, ImportErrorInfo, RunInfo, TaskInfo
from kedro_airflow_k8s.airflow_api.transport import Transport
from kedro_airflow_k8s.deadline import Deadline

DEFAULT_BUNDLE = "dags-folder"


@dataclass(frozen=True)
class ServerInfo:
    """Which Airflow answers, and what follows from it."""

    version: str  # "" when Airflow did not say
    api: Literal["v1", "v2"]

    @property
    def release(self) -> tuple[int, int, int]:
        """(major, minor, patch) of ``version``; (3, 0, 0) or (2, 10, 0) when unknown."""
        match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", self.version)
        if match is None:
            return (3, 0, 0) if self.api == "v2" else (2, 10, 0)
        return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)

    @property
    def parse_finds_new_files(self) -> bool:
        """Whether a parse request rescans the file's bundle (Airflow 3), so that a new file is
        found through any DAG's file token; Airflow 2 parses the one file only."""
        return self.api == "v2"

    @property
    def scan_setting(self) -> str:
        """The setting of Airflow's periodic scan for new DAG files."""
        if self.api == "v2":
            return "[dag_processor] refresh_interval, 300 s by default"
        return "[scheduler] dag_dir_list_interval, 300 s by default"

    @property
    def name(self) -> str:
        return f"Airflow {self.version}" if self.version else f"Airflow (REST API {self.api})"


class AirflowApi(Protocol):
    """What the operate workflows ask Airflow. Every failure is a one-line PluginError."""

    @property
    def host(self) -> str: ...

    @property
    def server(self) -> ServerInfo: ...

    def bounded(
        self, deadline: Deadline | None, *, retries: int | None = None
    ) -> AbstractContextManager[None]:
        """Calls made inside take at most what is left of ``deadline`` (and are retried at most
        ``retries`` times, when given)."""
        ...

    def get_dag(self, dag_id: str) -> DagInfo | None:
        """The DAG as Airflow serves it, or None when Airflow does not know it (yet)."""
        ...

    def get_dag_details(self, dag_id: str) -> DagInfo | None:
        """The DAG with its ``doc_md``, which Airflow reads from the DAG version a new run
        starts from (its tags are the last parse's), or None when there is none yet."""
        ...

    def iter_dags(self, *, bundle_name: str | None = None) -> Iterator[DagInfo]:
        """Every DAG (of the bundle), page by page as they are consumed."""
        ...

    def request_parse(self, file_token: str) -> bool:
        """Ask Airflow to parse the file of ``file_token`` now; False when it knows no DAG file
        for the token. A request already queued counts as done."""
        ...

    def latest_import_error(self) -> datetime | None:
        """When the newest import error was recorded (None: there is none)."""
        ...

    def import_errors(
        self, filename_contains: str | None = None, *, newer_than: datetime | None = None
    ) -> list[ImportErrorInfo]:
        """Import errors, newest first, of files whose name contains the text, recorded after
        ``newer_than`` (paging stops at the first older one)."""
        ...

    def unpause(self, dag_id: str) -> None: ...

    def trigger(
        self, dag_id: str, conf: Mapping[str, Any] | None = None, *, run_id: str | None = None
    ) -> str:
        """Start a run now and return its run id."""
        ...

    def dag_run(self, dag_id: str, run_id: str) -> RunInfo: ...

    def last_run(self, dag_id: str) -> RunInfo | None:
        """The most recently created run of the DAG, or None when it never ran."""
        ...

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInfo]: ...

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
        """The last ``lines`` lines of a task try's log as plain text; "" when there is none."""
        ...


class BaseApi:
    """What both API versions share: the transport, the server, closing, listing by tag."""

    def __init__(self, transport: Transport, server: ServerInfo) -> None:
        self.transport = transport
        self.server = server

    @property
    def host(self) -> str:
        return self.transport.host

    def __repr__(self) -> str:
        auth = self.transport.settings.auth
        return f"{type(self).__name__}(host={self.host!r}, auth={auth!r})"

    def bounded(
        self, deadline: Deadline | None, *, retries: int | None = None
    ) -> AbstractContextManager[None]:
        return self.transport.bounded(deadline, retries=retries)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def iter_dags(self, *, bundle_name: str | None = None) -> Iterator[DagInfo]:
        raise NotImplementedError

    def list_dags(
        self, tag_prefix: str | None = None, *, bundle_name: str | None = None
    ) -> list[DagInfo]:
        """Every DAG (all pages), optionally only those with a tag that starts with
        ``tag_prefix`` (the API only filters exact tags, so this is done here)."""
        return [
            dag
            for dag in self.iter_dags(bundle_name=bundle_name)
            if tag_prefix is None or any(tag.startswith(tag_prefix) for tag in dag.tags)
        ]

    def missing_dag(self, dag_id: str) -> str:
        return (
            f"DAG '{dag_id}' is not in Airflow at {self.host} (404 Not Found): it has not been "
            "uploaded, or Airflow has not parsed it yet"
        )

    def missing_run(self, dag_id: str, run_id: str) -> str:
        return f"run '{run_id}' of DAG '{dag_id}' is not in Airflow at {self.host} (404 Not Found)"
