"""The plugin's Airflow API client (``kedro_airflow_k8s.airflow_api``) and the parse wait of
``kedro_airflow_k8s.operate`` against a real Airflow 3.

``tests/airflow_api`` checks the client's behaviour under faults with a stand-in; this module
checks the same client against the real server (fixture ``airflow_server``, refresh_interval left
at 300 s so only parse requests make new files appear):

* token exchange, a wrong password, a bad token (401 messages);
* a new file found through a borrowed file token, a changed file through its own token;
* ``list_dags`` over more than one page (one file defining 105 DAGs: parsed once, fast);
* an import error reported by ``operate.wait_for_dag``;
* unpause, trigger (run id with ``+`` and ``:``), ``dag_run``, ``last_run``, ``task_instances``
  and ``task_log_tail`` (structured records, ``error_detail``) on a tiny DAG with a failing task.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from kedro_airflow_k8s.airflow_api import AirflowV2, ClientSettings, RestApi, connect
from kedro_airflow_k8s.errors import PluginError
from kedro_airflow_k8s.operate import wait_for_dag

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MANY = 105  # > PAGE_SIZE (100)
MANY_FILE = "kak8s_api_many.py"
RUN_DAG = "kak8s_api_run"
PARSE_TIMEOUT = 120.0


def many_dags_source(build: int) -> str:
    return f"""
from airflow.sdk import DAG

for index in range({MANY}):
    with DAG(
        dag_id=f"kak8s_api_{{index:03d}}",
        schedule=None,
        catchup=False,
        tags=["kak8s-api-page", "kak8s-api-build:{build}"],
        doc_md="Build `kak8s-api-build:{build}`.",  # run-once's wait reads it from the version
    ):
        pass
"""


RUN_DAG_SOURCE = f'''
from airflow.sdk import DAG, task

with DAG(
    dag_id="{RUN_DAG}",
    schedule=None,
    catchup=False,
    tags=["kak8s-api-run:1"],
    doc_md="Build `kak8s-api-run:1`.",
):

    @task(retries=0)
    def hello():
        print("hello from the kak8s api test")

    @task(retries=0)
    def boom():
        raise ValueError("boom from the kak8s api test")

    hello() >> boom()
'''

BROKEN_SOURCE = """
import kak8s_missing_module  # noqa
from airflow.sdk import DAG

with DAG(dag_id="kak8s_api_broken", schedule=None, tags=["kak8s-api-broken:1"]):
    pass
"""


def settings_for(server: Any, **options: Any) -> ClientSettings:
    values: dict[str, Any] = {
        "username": server.username,
        "password": server.password,
        "read_timeout": 30.0,
        "retries": 3,
        "backoff": 0.5,
    }
    return ClientSettings(server.base_url, **{**values, **options})


@pytest.fixture(scope="module")
def client(airflow_server: Any) -> Any:
    with connect(settings_for(airflow_server)) as api:
        yield api


def error_of(call: Any) -> str:
    with pytest.raises(PluginError) as info:
        call()
    return str(info.value.message)


def test_token_exchange_and_version(client: RestApi) -> None:
    assert isinstance(client, AirflowV2) and client.server.version.startswith("3.")
    client.check_access()


def test_wrong_password(airflow_server: Any) -> None:
    api = connect(settings_for(airflow_server, password="not-the-password"))
    assert error_of(api.check_access) == (
        f"Airflow at {airflow_server.base_url} rejected user 'admin' (401 Unauthorized): wrong "
        "user name or password; check AIRFLOW_USERNAME and AIRFLOW_PASSWORD"
    )


def test_bad_token(airflow_server: Any) -> None:
    api = connect(settings_for(airflow_server, username=None, password=None, token="bad"))
    assert error_of(lambda: api.get_dag("kak8s_api_000")) == (
        f"Airflow at {airflow_server.base_url} rejected the API token (403 Forbidden: Invalid JWT "
        "token) to read DAG 'kak8s_api_000': it is invalid or expired; set a valid "
        "AIRFLOW_API_TOKEN, or AIRFLOW_USERNAME and AIRFLOW_PASSWORD"
    )


def test_no_credentials(airflow_server: Any) -> None:
    api = connect(settings_for(airflow_server, username=None, password=None))
    assert error_of(lambda: api.get_dag("kak8s_api_000")) == (
        f"Airflow at {airflow_server.base_url} requires authentication (401 Unauthorized) to "
        "read DAG 'kak8s_api_000': set AIRFLOW_API_TOKEN, or AIRFLOW_USERNAME and "
        "AIRFLOW_PASSWORD"
    )


def test_token_from_the_server_is_used_as_is(airflow_server: Any) -> None:
    token = airflow_server.get_token()
    api = connect(settings_for(airflow_server, username=None, password=None, token=token))
    api.check_access()
    assert api.get_dag("e2e_infra_seed") is not None


@pytest.fixture(scope="module")
def many_dags(airflow_server: Any, client: RestApi, e2e_timings: dict[str, Any]) -> list[str]:
    """A new file with 105 DAGs, found through a file token borrowed from another DAG."""
    airflow_server.write_dag(MANY_FILE, many_dags_source(build=1))
    said: list[str] = []
    started = time.monotonic()
    wait_for_dag(
        client,
        f"kak8s_api_{MANY - 1:03d}",
        "kak8s-api-build:1",
        MANY_FILE,
        PARSE_TIMEOUT,
        said.append,
        poll_interval=0.5,
    )
    e2e_timings["airflow_api_new_file_parsed_s"] = time.monotonic() - started
    assert said and said[0].startswith("asked Airflow to rescan bundle 'dags-folder' (through DAG")
    return [f"kak8s_api_{index:03d}" for index in range(MANY)]


def test_list_dags_reads_every_page(client: RestApi, many_dags: list[str]) -> None:
    mine = client.list_dags(tag_prefix="kak8s-api-page")
    assert sorted(dag.dag_id for dag in mine) == many_dags
    everything = client.list_dags()
    assert len(everything) > 100
    assert {dag.dag_id for dag in everything} >= set(many_dags) | {"e2e_infra_seed"}


def test_get_dag(client: RestApi, many_dags: list[str]) -> None:
    dag = client.get_dag(many_dags[0])
    assert dag is not None
    assert dag.is_paused and not dag.has_import_errors
    assert dag.bundle_name == "dags-folder" and dag.relative_fileloc == MANY_FILE
    assert dag.file_token and dag.fileloc.endswith(MANY_FILE)
    assert set(dag.tags) == {"kak8s-api-page", "kak8s-api-build:1"}
    assert client.get_dag("kak8s_api_no_such_dag") is None


def test_changed_file_is_parsed_with_its_own_token(
    airflow_server: Any, client: RestApi, many_dags: list[str], e2e_timings: dict[str, Any]
) -> None:
    airflow_server.write_dag(MANY_FILE, many_dags_source(build=2))
    said: list[str] = []
    started = time.monotonic()
    dag = wait_for_dag(
        client,
        many_dags[0],
        "kak8s-api-build:2",
        MANY_FILE,
        PARSE_TIMEOUT,
        said.append,
        poll_interval=0.5,
    )
    e2e_timings["airflow_api_changed_file_parsed_s"] = time.monotonic() - started
    assert "kak8s-api-build:2" in dag.tags
    assert said[0] == f"asked Airflow to parse {MANY_FILE} again (waiting for kak8s-api-build:2)"


def test_import_error_is_reported(airflow_server: Any, client: RestApi) -> None:
    airflow_server.write_dag("kak8s_api_broken.py", BROKEN_SOURCE)
    message = error_of(
        lambda: wait_for_dag(
            client,
            "kak8s_api_broken",
            "kak8s-api-broken:1",
            "kak8s_api_broken.py",
            PARSE_TIMEOUT,
            poll_interval=0.5,
        )
    )
    assert message.startswith(
        f"Airflow at {airflow_server.base_url} cannot import kak8s_api_broken.py: "
        "ModuleNotFoundError: No module named 'kak8s_missing_module' (File "
    )
    assert [e.filename for e in client.import_errors("kak8s_api_broken")] == ["kak8s_api_broken.py"]


def test_trigger_a_dag_that_is_not_there(airflow_server: Any, client: RestApi) -> None:
    assert error_of(lambda: client.trigger("kak8s_api_no_such_dag")) == (
        f"DAG 'kak8s_api_no_such_dag' is not in Airflow at {airflow_server.base_url} "
        "(404 Not Found): it has not been uploaded, or Airflow has not parsed it yet"
    )


def test_run_a_tiny_dag(airflow_server: Any, client: RestApi, e2e_timings: dict[str, Any]) -> None:
    airflow_server.write_dag(f"{RUN_DAG}.py", RUN_DAG_SOURCE)
    dag = wait_for_dag(
        client, RUN_DAG, "kak8s-api-run:1", f"{RUN_DAG}.py", PARSE_TIMEOUT, poll_interval=0.5
    )
    assert dag.is_paused
    assert client.last_run(RUN_DAG) is None
    client.unpause(RUN_DAG)
    dag_now = client.get_dag(RUN_DAG)
    assert dag_now is not None and not dag_now.is_paused

    started = time.monotonic()
    run_id = client.trigger(RUN_DAG, {"kedro": {"x": 1}})
    assert "+" in run_id and ":" in run_id  # quoted in every path below
    run = client.dag_run(RUN_DAG, run_id)
    while not run.finished and time.monotonic() - started < 180:
        time.sleep(1)
        run = client.dag_run(RUN_DAG, run_id)
    e2e_timings["airflow_api_tiny_run_s"] = time.monotonic() - started
    assert run.state == "failed", run
    last = client.last_run(RUN_DAG)
    assert last is not None and last.run_id == run_id

    tasks = {task.task_id: task for task in client.task_instances(RUN_DAG, run_id)}
    assert {name: task.state for name, task in tasks.items()} == {
        "hello": "success",
        "boom": "failed",
    }
    assert tasks["boom"].try_number == 1
    hello_log = client.task_log_tail(RUN_DAG, run_id, "hello", tasks["hello"].try_number)
    assert "hello from the kak8s api test" in hello_log
    boom_log = client.task_log_tail(RUN_DAG, run_id, "boom", 1, lines=400)
    assert "Traceback (most recent call last):" in boom_log
    assert "ValueError: boom from the kak8s api test" in boom_log
    assert client.task_log_tail(RUN_DAG, run_id, "boom", 7) == ""
