"""The API calls against the stand-in when nothing goes wrong: requests sent, answers read."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from kedro_airflow_k8s.airflow_api import AirflowV1, AirflowV2, DagInfo, RestApi

from .fake_server import FaultyAirflowStandIn

AirflowApi = RestApi
Make = Callable[..., RestApi]


def test_version_and_login_once(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    assert isinstance(api, AirflowV2)
    assert (api.server.version, api.server.api) == ("3.3.2", "v2")
    assert stand_in.calls("POST", "^/auth/token$") == []  # not before it is needed
    stand_in.add_dag("a")
    api.get_dag("a")
    api.get_dag("a")
    assert len(stand_in.calls("POST", "^/auth/token$")) == 1
    token = stand_in.issued_tokens[0]
    gets = stand_in.calls("GET", "^/api/v2/dags/a$")
    assert [r.headers["authorization"] for r in gets] == [f"Bearer {token}"] * 2
    assert gets[0].headers["user-agent"].startswith("kedro-airflow-k8s/")


def test_static_token_is_used_as_is(stand_in: FaultyAirflowStandIn, make_api: Make) -> None:
    stand_in.static_token = "static-token-abcdef"
    stand_in.add_dag("a")
    api = make_api(username=None, password=None, token="static-token-abcdef")
    assert api.get_dag("a") is not None
    assert stand_in.calls("POST", "^/auth/token$") == []
    assert stand_in.calls("GET", "/dags/a")[0].headers["authorization"] == (
        "Bearer static-token-abcdef"
    )


def test_no_credentials_against_an_open_airflow(
    stand_in: FaultyAirflowStandIn, make_api: Make
) -> None:
    stand_in.auth_required = False
    stand_in.add_dag("a")
    api = make_api(username=None, password=None)
    assert api.get_dag("a") is not None
    assert "authorization" not in stand_in.calls("GET", "/dags/a")[0].headers


@pytest.mark.parametrize(
    ("make_stale", "refusal"),
    [
        (FaultyAirflowStandIn.expire_tokens, 401),  # "Token Expired"
        (FaultyAirflowStandIn.forget_tokens, 403),  # "Invalid JWT token"
    ],
)
def test_a_refused_token_is_replaced_once(
    stand_in: FaultyAirflowStandIn,
    api: AirflowApi,
    make_stale: Callable[[FaultyAirflowStandIn], None],
    refusal: int,
) -> None:
    stand_in.add_dag("a")
    api.get_dag("a")
    make_stale(stand_in)
    assert api.get_dag("a") is not None
    assert len(stand_in.calls("POST", "^/auth/token$")) == 2
    assert [r.status for r in stand_in.calls("GET", "/dags/a")] == [200, refusal, 200]


def test_get_dag(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    stand_in.add_dag("spaceflights", ["kedro-airflow-k8s", "build:abc"], fileloc="sub/sf.py")
    dag = api.get_dag("spaceflights")
    assert dag == DagInfo(
        dag_id="spaceflights",
        is_paused=True,
        tags=("kedro-airflow-k8s", "build:abc"),
        file_token="token-of-dags-folder-sub/sf.py",
        bundle_name="dags-folder",
        fileloc="/opt/airflow/dags/sub/sf.py",
        relative_fileloc="sub/sf.py",
        has_import_errors=False,
        is_stale=False,
    )
    assert api.get_dag("missing") is None


def test_iter_dags_reads_pages_only_as_far_as_needed(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    for index in range(250):
        stand_in.add_dag(f"dag_{index:03d}")
    dags = api.iter_dags()
    assert [next(dags).dag_id for _ in range(101)][-1] == "dag_100"
    assert len(stand_in.calls("GET", "^/api/v2/dags$")) == 2


def test_list_dags_reads_every_page(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    for index in range(250):
        tags = ["kedro-airflow-k8s:pipeline"] if index % 2 else ["other"]
        stand_in.add_dag(f"dag_{index:03d}", tags)
    everything = api.list_dags()
    assert [d.dag_id for d in everything] == [f"dag_{i:03d}" for i in range(250)]
    pages = stand_in.calls("GET", "^/api/v2/dags$")
    assert [r.query["offset"] for r in pages] == [["0"], ["100"], ["200"]]
    assert {r.query["limit"][0] for r in pages} == {"100"}
    mine = api.list_dags(tag_prefix="kedro-airflow-k8s")
    assert [d.dag_id for d in mine] == [f"dag_{i:03d}" for i in range(1, 250, 2)]


def test_list_dags_follows_a_smaller_page_limit(
    stand_in: FaultyAirflowStandIn, api: AirflowApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.airflow_api import fake_server

    monkeypatch.setattr(fake_server, "MAX_PAGE", 30)  # a server with a lower maximum_page_limit
    for index in range(70):
        stand_in.add_dag(f"d{index:02d}")
    assert len(api.list_dags()) == 70
    assert [r.query["offset"] for r in stand_in.calls("GET", "^/api/v2/dags$")] == [
        ["0"],
        ["30"],
        ["60"],
    ]


def test_list_dags_of_one_bundle(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    stand_in.add_dag("a")
    stand_in.add_dag("b", bundle_name="git-bundle")
    assert [d.dag_id for d in api.list_dags(bundle_name="git-bundle")] == ["b"]
    assert stand_in.calls("GET", "^/api/v2/dags$")[0].query["bundle_name"] == ["git-bundle"]


def test_unpause(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    stand_in.add_dag("a", paused=True)
    api.unpause("a")
    assert stand_in.dags["a"].is_paused is False
    patch = stand_in.calls("PATCH", "^/api/v2/dags/a$")[0]
    assert patch.body == {"is_paused": False}
    assert patch.query["update_mask"] == ["is_paused"]


def test_trigger_sends_a_null_logical_date_and_its_own_run_id(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    stand_in.add_dag("a")
    run_id = api.trigger("a", {"kedro": {"params": {"x": 1}}})
    post = stand_in.calls("POST", "dagRuns$")[0]
    assert post.body["logical_date"] is None
    assert post.body["conf"] == {"kedro": {"params": {"x": 1}}}
    assert post.body["dag_run_id"] == run_id
    assert run_id.startswith("manual__") and run_id.endswith("+00:00")
    assert stand_in.runs["a"][0].run_id == run_id


def test_run_ids_are_quoted_in_paths(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    stand_in.add_dag("a")
    run_id = api.trigger("a")
    run = api.dag_run("a", run_id)
    assert (run.run_id, run.state, run.dag_id, run.run_type) == (run_id, "queued", "a", "manual")
    raw = stand_in.calls("GET", "dagRuns/manual__")[0].raw_path
    assert "%2B00%3A00" in raw and "+" not in raw


def test_dag_run_dates(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    stand_in.add_dag("a")
    run = stand_in.add_run("a", "r1", "success")
    run.start_date, run.end_date = "2026-01-02T03:04:05.5Z", "2026-01-02T03:05:00Z"
    info = api.dag_run("a", "r1")
    assert info.start_date == datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=timezone.utc)
    assert info.end_date == datetime(2026, 1, 2, 3, 5, tzinfo=timezone.utc)
    assert info.finished


def test_last_run(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    stand_in.add_dag("a")
    assert api.last_run("a") is None
    stand_in.add_run("a", "first", "success")
    stand_in.add_run("a", "second", "running")
    last = api.last_run("a")
    assert last is not None and (last.run_id, last.state) == ("second", "running")
    assert not last.finished


def test_task_instances_read_every_page(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    stand_in.add_dag("a")
    stand_in.add_run("a", "r")
    for index in range(130):
        stand_in.add_task("a", "r", f"t{index:03d}", "success" if index else None, try_number=2)
    tasks = api.task_instances("a", "r")
    assert [t.task_id for t in tasks] == [f"t{i:03d}" for i in range(130)]
    assert (tasks[0].state, tasks[1].state, tasks[1].try_number, tasks[1].map_index) == (
        None,
        "success",
        2,
        -1,
    )
    assert len(stand_in.calls("GET", "taskInstances$")) == 2


LOG_RECORDS = [
    {"timestamp": "2026-01-02T03:04:05Z", "level": "info", "event": "starting"},
    {"event": "line one\nline two"},
    {
        "timestamp": "2026-01-02T03:04:06Z",
        "level": "error",
        "event": "Task failed with exception",
        "error_detail": [
            {
                "exc_type": "RuntimeError",
                "exc_value": "node failed",
                "is_cause": False,
                "frames": [{"filename": "/app/run.py", "lineno": 12, "name": "execute"}],
            },
            {
                "exc_type": "KeyError",
                "exc_value": "'x'",
                "is_cause": True,
                "frames": [{"filename": "/app/nodes.py", "lineno": 3, "name": "node"}],
            },
        ],
    },
]


def test_task_log_tail_flattens_records_and_renders_exceptions(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    stand_in.add_dag("a")
    stand_in.add_run("a", "r")
    stand_in.set_log("a", "r", "t", 1, LOG_RECORDS)
    assert api.task_log_tail("a", "r", "t", 1).splitlines() == [
        "[2026-01-02T03:04:05Z info] starting",
        "line one",
        "line two",
        "[2026-01-02T03:04:06Z error] Task failed with exception",
        "Traceback (most recent call last):",
        '  File "/app/nodes.py", line 3, in node',
        "KeyError: 'x'",
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        '  File "/app/run.py", line 12, in execute',
        "RuntimeError: node failed",
    ]
    assert api.task_log_tail("a", "r", "t", 1, lines=2).splitlines() == [
        '  File "/app/run.py", line 12, in execute',
        "RuntimeError: node failed",
    ]
    log_request = stand_in.calls("GET", "/logs/1$")[0]
    assert log_request.query["full_content"] == ["true"]
    assert log_request.headers["accept"] == "application/json"


def test_task_log_tail_of_plain_text_and_of_no_log(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    stand_in.add_dag("a")
    stand_in.add_run("a", "r")
    stand_in.set_log("a", "r", "t", 1, ["a", "b\nc"])  # lines of text
    assert api.task_log_tail("a", "r", "t", 1, lines=2) == "b\nc"
    assert api.task_log_tail("a", "r", "t", 2) == ""


def test_import_errors_filter_on_the_exact_text(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    stand_in.add_import_error("my_dag.py", "Traceback...\nValueError: x")
    stand_in.add_import_error("myXdag.py", "boom")  # "_" is a wildcard for the server
    stand_in.add_import_error("other.py", "boom")
    assert [e.filename for e in api.import_errors("my_dag")] == ["my_dag.py"]
    first_call = stand_in.calls("GET", "importErrors")[0]
    assert first_call.query["filename_pattern"] == ["my_dag"]
    assert first_call.query["order_by"] == ["-timestamp"]
    assert [e.filename for e in api.import_errors()] == ["other.py", "myXdag.py", "my_dag.py"]
    first = api.import_errors("my_dag")[0]
    assert (first.stack_trace, first.bundle_name) == ("Traceback...\nValueError: x", "dags-folder")


def test_import_errors_newer_than_stop_paging_at_the_first_older_one(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    for index in range(250):
        stand_in.add_import_error(f"old_{index}.py", "boom")
    newest_before = api.latest_import_error()
    assert newest_before is not None
    stand_in.add_import_error("sf.py", "new boom")
    calls = len(stand_in.calls("GET", "importErrors"))
    errors = api.import_errors(newer_than=newest_before)
    assert [e.filename for e in errors] == ["sf.py"]
    assert len(stand_in.calls("GET", "importErrors")) == calls + 1  # one page, not three
    assert api.import_errors("sf", newer_than=errors[0].timestamp) == []


def test_request_parse(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    dag = stand_in.add_dag("a")
    assert api.request_parse(dag.file_token)
    assert stand_in.parse_requests == [dag.file_token]
    stand_in.fail("parseDagFile", 409)  # already queued: fine
    assert api.request_parse(dag.file_token)
    assert not api.request_parse("unknown-token")


# --- Airflow 2.10: REST API v1 ---


@pytest.fixture
def v1(make_api: Make, make_stand_in: Any) -> tuple[FaultyAirflowStandIn, RestApi]:
    server = make_stand_in(api="v1")
    return server, make_api(host=server.url)


def test_v1_sends_basic_auth_and_no_token_request(v1: tuple[FaultyAirflowStandIn, RestApi]) -> None:
    server, api = v1
    server.add_dag("a", ["t"], paused=True)
    assert isinstance(api, AirflowV1)
    dag = api.get_dag("a")
    assert dag is not None and (dag.tags, dag.is_paused, dag.bundle_name) == (("t",), True, None)
    (sent,) = server.calls("GET", "^/api/v1/dags/a$")
    basic = base64.b64encode(f"admin:{server.password}".encode()).decode()
    assert sent.headers["authorization"] == f"Basic {basic}"
    assert server.calls("POST", "token") == []


def test_v1_trigger_follow_and_logs(v1: tuple[FaultyAirflowStandIn, RestApi]) -> None:
    server, api = v1
    server.add_dag("a")
    api.unpause("a")
    assert server.dags["a"].is_paused is False
    run_id = api.trigger("a", {"kedro": {"x": 1}})
    (post,) = server.calls("POST", "dagRuns$")
    assert post.body == {"dag_run_id": run_id, "conf": {"kedro": {"x": 1}}}  # no logical_date
    assert api.dag_run("a", run_id).state == "queued"
    assert api.last_run("a") == api.dag_run("a", run_id)
    server.add_task("a", run_id, "t", "failed")
    server.set_log("a", run_id, "t", 1, "*** Found local files\nline 1\nValueError: boom")
    assert [t.task_id for t in api.task_instances("a", run_id)] == ["t"]
    assert api.task_log_tail("a", run_id, "t", 1, lines=2) == "line 1\nValueError: boom"
    assert server.calls("GET", "/logs/1$")[0].headers["accept"] == "text/plain"


def test_v1_lists_active_dags_and_import_errors(v1: tuple[FaultyAirflowStandIn, RestApi]) -> None:
    server, api = v1
    server.add_dag("live")
    server.add_dag("gone", is_stale=True)
    assert [d.dag_id for d in api.list_dags()] == ["live"]
    assert server.calls("GET", "^/api/v1/dags$")[0].query["only_active"] == ["true"]
    server.add_import_error("/opt/airflow/dags/x.py", "boom")
    errors = api.import_errors("x.py")
    assert [e.filename for e in errors] == ["/opt/airflow/dags/x.py"]
    assert "filename_pattern" not in server.calls("GET", "importErrors")[0].query
