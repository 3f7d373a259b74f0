"""Client of Airflow's REST API: v2 for Airflow 3, v1 for Airflow 2.10, chosen by asking.

:func:`connect` asks ``GET /api/v2/version`` (then ``/api/v1/version``) which Airflow answers and
returns the matching :class:`AirflowApi`. Modules: :mod:`.settings` (URL, credentials, TLS,
numbers), :mod:`.transport` (HTTP, retries, time limit, one-line errors), :mod:`.wire` (the JSON
shapes the API promises), :mod:`.records` (typed records, shape checks), :mod:`.paging`,
:mod:`.rest` (the calls), :mod:`.logs` (task logs and tracebacks as text).

Why no generated client: apache-airflow-client 3.x speaks only v2 and its 2.x line (v1) installs
under the same module name, so one cannot serve both; its models are strict about enums a newer
Airflow may extend; and importing it costs about a second (see benchmarks/client_import.py).
"""

from __future__ import annotations

from kedro_airflow_k8s.airflow_api.api import DEFAULT_BUNDLE, AirflowApi, BaseApi, ServerInfo
from kedro_airflow_k8s.airflow_api.messages import status
from kedro_airflow_k8s.airflow_api.records import DagInfo, ImportErrorInfo, RunInfo, TaskInfo, read
from kedro_airflow_k8s.airflow_api.rest import AirflowV1, AirflowV2, RestApi
from kedro_airflow_k8s.airflow_api.settings import ClientSettings
from kedro_airflow_k8s.airflow_api.transport import Transport, Unavailable
from kedro_airflow_k8s.airflow_api.wire import Version
from kedro_airflow_k8s.deadline import Deadline

__all__ = [
    "DEFAULT_BUNDLE",
    "AirflowApi",
    "AirflowV1",
    "AirflowV2",
    "BaseApi",
    "ClientSettings",
    "DagInfo",
    "Deadline",
    "ImportErrorInfo",
    "RestApi",
    "RunInfo",
    "ServerInfo",
    "TaskInfo",
    "Unavailable",
    "connect",
]

OLDEST_AIRFLOW2 = (2, 10)


def connect(settings: ClientSettings, deadline: Deadline | None = None) -> RestApi:
    """The API of the Airflow at ``settings.host``, of the version it speaks.

    ``deadline`` bounds every call (None: only the per-request timeouts and retries do).
    """
    transport = Transport(settings, deadline)
    try:
        server = detect(transport)
    except BaseException:
        transport.close()
        raise
    if server.api == "v1":
        transport.password_use = "basic"
        return AirflowV1(transport, server)
    return AirflowV2(transport, server)


def detect(transport: Transport) -> ServerInfo:
    """Which Airflow answers: v2 if ``/api/v2/version`` says a version, else v1 if
    ``/api/v1/version`` says a 2.10 or later; v2 as well when the v2 path asks for credentials."""
    what = "read the Airflow version"
    v2 = transport.probe("/api/v2/version", what)
    if 300 <= v2.status < 400:  # http:// to https://, a moved host: say where to
        raise transport.http_error(what, v2, None)
    if v2.status == 200:
        return ServerInfo(read(transport, v2, Version)["version"], "v2")
    v1 = transport.probe("/api/v1/version", what)
    if v1.status == 200:
        version = read(transport, v1, Version)["version"]
        server = ServerInfo(version, "v1")
        if server.release[0] != 2 or server.release[:2] < OLDEST_AIRFLOW2:
            raise transport.error(
                f"Airflow at {transport.host} is version {version}: this plugin drives Airflow "
                "2.10 (REST API v1) and 3.x (REST API v2); upgrade Airflow"
            )
        return server
    if v2.status in (401, 403):
        return ServerInfo("", "v2")
    if v2.status >= 500 or v1.status >= 500:
        failed = v2 if v2.status >= 500 else v1
        raise transport.http_error(what, failed, None)
    raise transport.error(
        f"no Airflow REST API at {transport.host} (GET /api/v2/version answered "
        f"{status(v2.status)}, GET /api/v1/version {status(v1.status)}): check the Airflow URL "
        "(scheme, host, port, path prefix)"
    )
