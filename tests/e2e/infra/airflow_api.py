"""A small REST helper for Airflow 3's public API (v2), used by the e2e tests themselves.

Plain ``requests``: it is deliberately independent of the product's own client, so tests can check
the product against a second opinion. JWTs come from ``POST /auth/token`` and are refreshed on a
401.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

import requests

FINAL_RUN_STATES = frozenset({"success", "failed"})


def _q(segment: str) -> str:
    """Quote one path segment (run ids hold ``+`` and ``:``)."""
    return urllib.parse.quote(str(segment), safe="")


class AirflowApiError(RuntimeError):
    def __init__(self, response: requests.Response) -> None:
        self.status_code = response.status_code
        self.body = response.text
        super().__init__(
            f"{response.request.method} {response.url} -> {response.status_code}: "
            f"{response.text[:2000]}"
        )


class AirflowApi:
    """Authenticated calls to ``<base_url>/api/v2``; paths are relative to it (``/dags/x``)."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = (
            False  # never route loopback traffic through a proxy from the environment
        )
        self._token: str | None = None

    # --- plumbing ---

    def get_token(self) -> str:
        """A fresh JWT from ``POST /auth/token`` (201, ``{"access_token": ...}``)."""
        response = self.session.post(
            f"{self.base_url}/auth/token",
            json={"username": self.username, "password": self.password},
            timeout=self.timeout,
        )
        if response.status_code not in (200, 201):
            raise AirflowApiError(response)
        return str(response.json()["access_token"])

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = self.get_token()
        return self._token

    def request(
        self, method: str, path: str, *, expect: Iterable[int] | None = None, **kwargs: Any
    ) -> requests.Response:
        """Call ``/api/v2{path}``; raise AirflowApiError unless the status is 2xx (or in
        ``expect``)."""
        url = path if path.startswith("http") else f"{self.base_url}/api/v2{path}"
        kwargs.setdefault("timeout", self.timeout)
        for attempt in range(2):
            headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {self.token}"}
            response = self.session.request(method, url, headers=headers, **kwargs)
            if response.status_code == 401 and attempt == 0:
                self._token = None
                continue
            break
        allowed = set(expect or ())
        if not (200 <= response.status_code < 300 or response.status_code in allowed):
            raise AirflowApiError(response)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    # --- DAGs ---

    def health(self) -> dict[str, Any]:
        response = self.session.get(f"{self.base_url}/api/v2/monitor/health", timeout=self.timeout)
        response.raise_for_status()
        return dict(response.json())

    def dag(self, dag_id: str) -> dict[str, Any] | None:
        response = self.request("GET", f"/dags/{_q(dag_id)}", expect=(404,))
        return None if response.status_code == 404 else dict(response.json())

    def dags(self, **params: Any) -> list[dict[str, Any]]:
        params.setdefault("limit", 100)
        return list(self.get("/dags", params=params)["dags"])

    def import_errors(self) -> list[dict[str, Any]]:
        return list(self.get("/importErrors", params={"limit": 100})["import_errors"])

    def request_parse(self, file_token: str) -> None:
        """``PUT /parseDagFile/{file_token}``: queue a re-parse of that file.

        The DAG processor also refreshes the token's bundle when it takes the request, so files that
        are new in the bundle get discovered and parsed too (without waiting for refresh_interval).
        """
        self.request("PUT", f"/parseDagFile/{_q(file_token)}")

    def any_file_token(self, bundle_name: str = "dags-folder") -> str:
        """The file token of any DAG of a bundle (what a parse request for a *new* file has to
        borrow)."""
        for dag in self.dags(limit=100):
            if dag.get("bundle_name") == bundle_name:
                return str(dag["file_token"])
        raise LookupError(f"no DAG in bundle {bundle_name!r}: nothing to borrow a file token from")

    def wait_for_dag(
        self, dag_id: str, timeout: float = 60, interval: float = 0.5
    ) -> dict[str, Any]:
        """Poll until the DAG exists; on timeout report the import errors, which usually say why."""
        deadline = time.monotonic() + timeout
        while True:
            dag = self.dag(dag_id)
            if dag is not None:
                return dag
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"DAG {dag_id!r} not visible after {timeout} s; import errors: "
                    f"{self.import_errors()}"
                )
            time.sleep(interval)

    def set_paused(self, dag_id: str, paused: bool) -> dict[str, Any]:
        return dict(self.request("PATCH", f"/dags/{_q(dag_id)}", json={"is_paused": paused}).json())

    # --- runs ---

    def trigger(
        self, dag_id: str, conf: dict[str, Any] | None = None, **body: Any
    ) -> dict[str, Any]:
        """``POST /dags/{id}/dagRuns``: ``logical_date`` must be present; null means "now, no
        date"."""
        payload = {"logical_date": None, "conf": conf or {}, **body}
        return dict(self.request("POST", f"/dags/{_q(dag_id)}/dagRuns", json=payload).json())

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.get(f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}"))

    def wait_for_run(
        self,
        dag_id: str,
        run_id: str,
        timeout: float = 120,
        interval: float = 0.5,
        states: Iterable[str] = FINAL_RUN_STATES,
        on_poll: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        wanted = set(states)
        deadline = time.monotonic() + timeout
        while True:
            run = self.dag_run(dag_id, run_id)
            if on_poll is not None:
                on_poll(run)
            if run["state"] in wanted:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"run {dag_id}/{run_id} is {run['state']!r} after {timeout} s; tasks: "
                    f"{[(t['task_id'], t['state']) for t in self.task_instances(dag_id, run_id)]}"
                )
            time.sleep(interval)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        data = self.get(
            f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances", params={"limit": 100}
        )
        return list(data["task_instances"])

    def task_log(
        self, dag_id: str, run_id: str, task_id: str, try_number: int = 1, map_index: int = -1
    ) -> str:
        """The task's log as text (the API answers with structured JSON lines; they are joined
        here)."""
        response = self.request(
            "GET",
            f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/logs/{try_number}",
            params={"full_content": "true", "map_index": map_index},
            headers={"Accept": "application/json"},
        )
        content = response.json().get("content")
        if isinstance(content, str):
            return content
        return "\n".join(_render_log_record(item) for item in content or [])


def _render_log_record(item: Any) -> str:
    """One structured log record as a text line: timestamp, level, event, then every other field."""
    if not isinstance(item, dict):
        return str(item)
    head = [str(item[key]) for key in ("timestamp", "level", "event") if item.get(key)]
    rest = [
        f"{key}={value}"
        for key, value in item.items()
        if key not in ("timestamp", "level", "event") and value not in (None, "", [], {})
    ]
    return " ".join(head + rest)
