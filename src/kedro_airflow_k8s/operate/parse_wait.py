"""Wait until Airflow serves THIS build of a DAG (the one with the build's tag).

Served means both: the DAG's tags (what Airflow's last parse of the file found) and the doc of
the DAG version a new run would start from (Airflow stores a new version of a DAG at most every
``[core] min_serialized_dag_update_interval``, 30 s by default, so a file uploaded again soon
after the previous one is parsed, and tagged, before its version is stored) name the build.

Meanwhile a parse is requested every ``reparse_interval`` s: with the DAG's own file token when
Airflow knows the DAG, else (Airflow 3) with a token borrowed from any DAG of the bundle:
taking the request rescans the bundle, which finds new files. Airflow 2 parses only the file
of the token, so a new file there waits for its periodic scan, as on Airflow 3 when the bundle
holds no DAG to borrow from. A new import error of the file ends the wait.

Import errors are read newest first and only as far back as the newest one that existed when
the wait began, and a token donor is looked for page by page until one is found: on a busy
Airflow (or Airflow 3.0, which ignores the ``bundle_name`` and ``filename_pattern`` filters) the
wait reads what it must and nothing more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from kedro_airflow_k8s.airflow_api import DEFAULT_BUNDLE, AirflowApi, DagInfo, ImportErrorInfo
from kedro_airflow_k8s.airflow_api.logs import trace_summary
from kedro_airflow_k8s.deadline import DEFAULT_TIMEOUT, Deadline
from kedro_airflow_k8s.errors import RemoteError, TimedOut
from kedro_airflow_k8s.operate.patience import Patience, WaitOver

log = logging.getLogger(__name__)


def wait_for_dag(
    api: AirflowApi,
    dag_id: str,
    required_tag: str,
    file_name: str,
    timeout: float,
    on_wait: Callable[[str], None] | None = None,
    *,
    bundle_name: str = DEFAULT_BUNDLE,
    allowance: float = DEFAULT_TIMEOUT,
    poll_interval: float = 2.0,
    reparse_interval: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> DagInfo:
    """Wait up to ``timeout`` s for the DAG tagged ``required_tag`` (see the module docstring).

    ``on_wait`` gets a line each time what is being done changes. Raises a RemoteError when the
    file fails to import, TimedOut at ``timeout`` or when Airflow stays unreachable for longer
    than ``allowance`` s.
    """
    echo = on_wait or (lambda line: None)
    limit = Deadline(timeout, clock=clock)
    patience = Patience(
        api,
        allowance=allowance,
        limit=limit,
        doing=f"waiting for Airflow to parse {file_name}",
        echo=echo,
        clock=clock,
    )
    waiter = _DagWait(api, dag_id, required_tag, file_name, bundle_name, echo)
    dag: DagInfo | None = None
    try:
        waiter.baseline = _first(patience, api.latest_import_error)
        next_parse = clock()
        while True:
            due = clock() >= next_parse
            answer = patience.poll(lambda: waiter.look(due))  # noqa: B023 (called at once)
            if answer is not None:
                dag, parsed = answer
                if dag is not None and waiter.serves_build(dag):
                    return dag
                if parsed:
                    next_parse = clock() + reparse_interval
            sleep(max(0.0, min(poll_interval, limit.remaining())))
    except WaitOver as over:
        raise TimedOut(waiter.timeout_message(dag, timeout)) from over


def _first(patience: Patience, call: Callable[[], datetime | None]) -> datetime | None:
    """The first answer to ``call`` (polled until Airflow answers)."""
    while True:
        answer = patience.poll(lambda: (call(),))
        if answer is not None:
            return answer[0]


class _DagWait:
    """What one wait knows: the newest import error from before, what it last said, and whether
    a parse could be requested at all."""

    def __init__(
        self,
        api: AirflowApi,
        dag_id: str,
        required_tag: str,
        file_name: str,
        bundle_name: str,
        echo: Callable[[str], None],
    ) -> None:
        self.api, self.dag_id, self.required_tag = api, dag_id, required_tag
        self.file_name, self.bundle_name, self.echo = file_name, bundle_name, echo
        self.baseline: datetime | None = None
        self.no_donor = False
        self.said = ""

    def look(self, parse_due: bool) -> tuple[DagInfo | None, bool]:
        """One poll: the DAG as served; if not this build, check import errors and maybe ask
        for a parse. Returns the DAG and whether a parse was asked for."""
        dag = self.api.get_dag_details(self.dag_id)
        if dag is None:  # a version is stored after the parse: the DAG may be known already
            dag = self.api.get_dag(self.dag_id)
        if dag is not None and self.serves_build(dag):
            return dag, False
        if dag is not None and self.required_tag in dag.tags:  # parsed, not yet a version
            self._say(
                "Airflow parsed this build; waiting for it to store the build as the version "
                "a run starts from (at most [core] min_serialized_dag_update_interval, 30 s by "
                "default)"
            )
            if parse_due and dag.file_token:
                self.api.request_parse(dag.file_token)
            return dag, parse_due
        self._check_import_errors()
        if parse_due:
            self._request_parse(dag)
        return dag, parse_due

    def serves_build(self, dag: DagInfo) -> bool:
        """Whether the last parse found this build (tags) and a run would start from it (doc)."""
        return self.required_tag in dag.tags and self.required_tag in (dag.doc_md or "")

    def _check_import_errors(self) -> None:
        base = self.file_name.rsplit("/", 1)[-1]
        for error in self.api.import_errors(base, newer_than=self.baseline):
            if _same_file(error.filename, self.file_name):
                raise self._import_error(error)

    def _import_error(self, error: ImportErrorInfo) -> RemoteError:
        summary = trace_summary(error.stack_trace)
        return RemoteError(
            f"Airflow at {self.api.host} cannot import {error.filename}: {summary} "
            "(full trace: import errors in the Airflow UI)"
        )

    def _request_parse(self, dag: DagInfo | None) -> None:
        if dag is not None and dag.file_token and self.api.request_parse(dag.file_token):
            where = dag.relative_fileloc or self.file_name
            self._say(f"asked Airflow to parse {where} again (waiting for {self.required_tag})")
            return
        server = self.api.server
        if not server.parse_finds_new_files:
            self._say(
                f"{server.name} finds new files only in its periodic scan: waiting for it to "
                f"find {self.file_name} ({server.scan_setting})"
            )
            return
        donor = self._donor()
        if donor is not None and self.api.request_parse(donor.file_token):
            self.no_donor = False
            self._say(
                f"asked Airflow to rescan bundle '{self.bundle_name}' (through DAG "
                f"'{donor.dag_id}') to find {self.file_name}"
            )
            return
        self.no_donor = True
        self._say(
            f"no DAG in bundle '{self.bundle_name}' to carry a parse request: waiting for "
            f"Airflow's periodic scan to find {self.file_name} ({server.scan_setting})"
        )

    def _donor(self) -> DagInfo | None:
        """The first live DAG of the bundle whose file token can carry a parse request (pages
        are read only until one is found)."""
        for dag in self.api.iter_dags(bundle_name=self.bundle_name):
            if dag.file_token and not dag.is_stale and dag.dag_id != self.dag_id:
                return dag
        return None

    def _say(self, message: str) -> None:
        if message != self.said:
            self.said = message
            log.debug("%s", message)
            self.echo(message)

    def timeout_message(self, dag: DagInfo | None, timeout: float) -> str:
        if dag is None:
            state = "the DAG is not in Airflow"
        elif self.required_tag in dag.tags:
            state = (
                "Airflow parsed this build but has not stored it as a version a run would start "
                "from"
            )
        else:
            tags = ", ".join(dag.tags) or "none"
            state = f"Airflow still serves another version of it (tags: {tags})"
        hint = ""
        if self.no_donor:
            hint = (
                f"; no DAG in bundle '{self.bundle_name}' could carry a parse request, so only "
                f"Airflow's periodic scan finds new files ({self.api.server.scan_setting})"
            )
        elif not self.api.server.parse_finds_new_files and dag is None:
            hint = (
                f"; Airflow finds new files in its periodic scan ({self.api.server.scan_setting})"
            )
        return (
            f"timed out after {timeout:g} s waiting for Airflow at {self.api.host} to "
            f"serve DAG '{self.dag_id}' tagged '{self.required_tag}' from {self.file_name}: "
            f"{state}{hint}"
        )


def _same_file(reported: str, file_name: str) -> bool:
    """Whether an import error's file name (bundle-relative on Airflow 3, absolute on Airflow 2)
    is ``file_name``."""
    a, b = reported.strip("/"), file_name.strip("/")
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)
