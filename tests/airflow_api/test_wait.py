"""operate.wait_for_dag: make sure Airflow serves THIS version of a DAG (parse requests with the
DAG's own file token or a borrowed one, import errors, timeouts), on Airflow 3, 3.0 and 2.10
stand-ins."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from kedro_airflow_k8s.airflow_api import RestApi as AirflowApi
from kedro_airflow_k8s.errors import PluginError
from kedro_airflow_k8s.operate import wait_for_dag

from .fake_server import FaultyAirflowStandIn

FAST_WAIT: dict[str, Any] = {"poll_interval": 0.01, "reparse_interval": 0.05}
TRACE = """Traceback (most recent call last):
  File "<frozen importlib._bootstrap>", line 241, in _call_with_frames_removed
  File "/opt/airflow/dags/sf.py", line 3, in <module>
    import missing_module
ModuleNotFoundError: No module named 'missing_module'
"""


def test_already_served(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    stand_in.add_dag("sf", ["build:v2"], fileloc="sf.py")
    said: list[str] = []
    dag = wait_for_dag(api, "sf", "build:v2", "sf.py", timeout=5, on_wait=said.append)
    assert dag.tags == ("build:v2",)
    assert stand_in.parse_requests == [] and said == []


def test_changed_dag_is_parsed_with_its_own_token(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    old = stand_in.add_dag("sf", ["build:v1"], fileloc="sf.py")
    stand_in.add_dag("sf", ["build:v2"], fileloc="sf.py", pending=True)
    said: list[str] = []
    dag = wait_for_dag(api, "sf", "build:v2", "sf.py", 5, said.append, **FAST_WAIT)
    assert dag.tags == ("build:v2",)
    assert stand_in.parse_requests == [old.file_token]
    assert said == ["asked Airflow to parse sf.py again (waiting for build:v2)"]


def test_new_dag_is_found_through_a_borrowed_token(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    stale = stand_in.add_dag("gone", fileloc="gone.py", is_stale=True)
    seed = stand_in.add_dag("seed", fileloc="seed.py")
    stand_in.add_dag("other_bundle", fileloc="x.py", bundle_name="git")
    stand_in.add_dag("sf", ["build:v1"], fileloc="sf.py", pending=True)
    said: list[str] = []
    dag = wait_for_dag(api, "sf", "build:v1", "sf.py", 5, said.append, **FAST_WAIT)
    assert dag.dag_id == "sf"
    assert stand_in.parse_requests == [seed.file_token] != [stale.file_token]
    assert said == [
        "asked Airflow to rescan bundle 'dags-folder' (through DAG 'seed') to find sf.py"
    ]


def test_parse_is_requested_again_while_waiting(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    stand_in.add_dag("seed")
    parses: list[str] = []

    def publish_on_third_request(token: str) -> None:
        parses.append(token)
        if len(parses) == 3:
            stand_in.add_dag("sf", ["build:v1"])

    stand_in.on_parse = publish_on_third_request
    said: list[str] = []
    wait_for_dag(api, "sf", "build:v1", "sf.py", 5, said.append, **FAST_WAIT)
    assert len(parses) == 3
    assert len(said) == 1  # the same news is told once


def test_queued_parse_request_is_fine(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    stand_in.add_dag("sf", ["build:v1"])
    stand_in.fail("parseDagFile", 409, times=2)
    stand_in.on_parse = lambda token: stand_in.add_dag("sf", ["build:v2"])
    assert wait_for_dag(api, "sf", "build:v2", "sf.py", 5, **FAST_WAIT).tags == ("build:v2",)


def test_nothing_to_borrow_waits_for_the_periodic_scan(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    said: list[str] = []
    with pytest.raises(PluginError) as info:
        wait_for_dag(api, "sf", "build:v1", "sf.py", 0.3, said.append, **FAST_WAIT)
    assert said == [
        "no DAG in bundle 'dags-folder' to carry a parse request: waiting for Airflow's "
        "periodic scan to find sf.py ([dag_processor] refresh_interval, 300 s by default)"
    ]
    assert info.value.message == (
        f"timed out after 0.3 s waiting for Airflow at {stand_in.url} to serve DAG 'sf' tagged "
        "'build:v1' from sf.py: the DAG is not in Airflow; no DAG in bundle 'dags-folder' could "
        "carry a parse request, so only Airflow's periodic scan finds new files "
        "([dag_processor] refresh_interval, 300 s by default)"
    )


def test_periodic_scan_may_still_find_it(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    scan = threading.Timer(0.2, lambda: stand_in.add_dag("sf", ["build:v1"]))
    scan.start()
    said: list[str] = []
    try:
        assert wait_for_dag(api, "sf", "build:v1", "sf.py", 5, said.append, **FAST_WAIT).dag_id
    finally:
        scan.cancel()
    assert said[0].startswith("no DAG in bundle 'dags-folder' to carry a parse request")


def test_a_parsed_build_is_waited_for_until_a_run_would_start_from_it(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    """The last parse found the build (its tags) but Airflow has not stored it as the version a
    run starts from (the build is not in that version's doc yet): keep asking for parses."""
    dag = stand_in.add_dag("sf", ["build:v2"], fileloc="sf.py", stored_tags=["build:v1"])
    parses: list[str] = []

    def store_on_second_request(token: str) -> None:
        parses.append(token)
        if len(parses) == 2:
            dag.stored_tags = None  # stored now

    stand_in.on_parse = store_on_second_request
    said: list[str] = []
    found = wait_for_dag(api, "sf", "build:v2", "sf.py", 5, said.append, **FAST_WAIT)
    assert "build:v2" in (found.doc_md or "") and len(parses) == 2
    assert said == [
        "Airflow parsed this build; waiting for it to store the build as the version a run "
        "starts from (at most [core] min_serialized_dag_update_interval, 30 s by default)"
    ]


def test_a_parsed_build_never_stored_times_out_saying_so(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    stand_in.add_dag("sf", ["build:v2"], fileloc="sf.py", stored_tags=["build:v1"])
    with pytest.raises(PluginError) as caught:
        wait_for_dag(api, "sf", "build:v2", "sf.py", 0.3, **FAST_WAIT)
    assert str(caught.value).endswith(
        "serve DAG 'sf' tagged 'build:v2' from sf.py: Airflow parsed this build but has not "
        "stored it as a version a run would start from"
    )


def test_old_version_still_served_at_timeout(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    stand_in.add_dag("sf", ["kedro-airflow-k8s", "build:v1"])
    with pytest.raises(PluginError) as info:
        wait_for_dag(api, "sf", "build:v2", "sf.py", 0.2, **FAST_WAIT)
    assert info.value.message == (
        f"timed out after 0.2 s waiting for Airflow at {stand_in.url} to serve DAG 'sf' tagged "
        "'build:v2' from sf.py: Airflow still serves another version of it (tags: "
        "kedro-airflow-k8s, build:v1)"
    )


def test_import_error_of_the_file_stops_the_wait(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    stand_in.add_dag("seed")
    stand_in.add_import_error("other.py", "SyntaxError: not ours")
    stand_in.add_import_error("sub/sf.py", TRACE, pending=True)
    with pytest.raises(PluginError) as info:
        wait_for_dag(api, "sf", "build:v1", "sf.py", 5, **FAST_WAIT)
    assert info.value.message == (
        f"Airflow at {stand_in.url} cannot import sub/sf.py: ModuleNotFoundError: No module named "
        """'missing_module' (File "/opt/airflow/dags/sf.py", line 3, in <module>) (full trace: """
        "import errors in the Airflow UI)"
    )


def test_an_import_error_from_before_is_not_this_version(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    """The previous upload failed; this one is fine: the old error must not stop the wait."""
    stand_in.add_dag("seed")
    stand_in.add_import_error("sf.py", TRACE)
    stand_in.add_dag("sf", ["build:v2"], pending=True)
    assert wait_for_dag(api, "sf", "build:v2", "sf.py", 5, **FAST_WAIT).dag_id == "sf"


def test_the_same_file_failing_again_is_noticed(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    """An error that was there before counts once Airflow parsed the file again (new time)."""
    stand_in.add_dag("seed")
    stand_in.add_import_error("sf.py", TRACE)
    stand_in.add_import_error("sf.py", "Traceback...\nValueError: still broken", pending=True)
    with pytest.raises(PluginError, match=r"cannot import sf\.py: ValueError: still broken"):
        wait_for_dag(api, "sf", "build:v2", "sf.py", 5, **FAST_WAIT)


CHAINED_TRACE = """Traceback (most recent call last):
  File "/opt/airflow/dags/sf.py", line 40, in <module>
    from airflow.sdk import DAG, TaskGroup, literal
ImportError: cannot import name 'literal' from 'airflow.sdk' (/usr/lib/airflow/sdk/__init__.py)

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/opt/airflow/dags/sf.py", line 44, in <module>
    from airflow.utils.template import literal
ModuleNotFoundError: No module named 'airflow.utils.template'
"""


def test_a_chained_import_error_is_reported_by_its_first_cause(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    """The last exception of a chain (a fallback import failing too) is not what went wrong."""
    stand_in.add_dag("seed")
    stand_in.add_import_error("sf.py", CHAINED_TRACE, pending=True)
    with pytest.raises(PluginError) as info:
        wait_for_dag(api, "sf", "build:v1", "sf.py", 5, **FAST_WAIT)
    assert info.value.message == (
        f"Airflow at {stand_in.url} cannot import sf.py: ImportError: cannot import name "
        "'literal' from 'airflow.sdk' (/usr/lib/airflow/sdk/__init__.py) "
        '(File "/opt/airflow/dags/sf.py", line 40, in <module>); which then caused '
        "ModuleNotFoundError: No module named 'airflow.utils.template' "
        '(File "/opt/airflow/dags/sf.py", line 44, in <module>) '
        "(full trace: import errors in the Airflow UI)"
    )


# --- Airflow 3.0 ignores the bundle_name and filename_pattern filters ---


@pytest.fixture
def airflow_3_0(make_api: Any, make_stand_in: Any) -> Any:
    """A stand-in that answers like Airflow 3.0: it ignores ``bundle_name`` on the DAG list and
    ``filename_pattern`` on import errors (both filters work from 3.1.8)."""
    server = make_stand_in(version="3.0.6", ignores_filters=True)
    return server, make_api(host=server.url)


def test_the_token_donor_is_looked_for_past_the_first_page(airflow_3_0: Any) -> None:
    """130 DAGs of another bundle come first in the list: the donor is on the second page."""
    server, api = airflow_3_0
    for index in range(130):
        server.add_dag(f"a_{index:03d}", fileloc=f"a_{index}.py", bundle_name="git-repo")
    seed = server.add_dag("z_seed", fileloc="z_seed.py")
    server.add_dag("z_seed2", fileloc="z_seed2.py")
    server.add_dag("sf", ["build:v1"], fileloc="sf.py", pending=True)
    said: list[str] = []
    assert wait_for_dag(api, "sf", "build:v1", "sf.py", 5, said.append, **FAST_WAIT).dag_id
    assert server.parse_requests == [seed.file_token]
    assert said == [
        "asked Airflow to rescan bundle 'dags-folder' (through DAG 'z_seed') to find sf.py"
    ]
    listed = server.calls("GET", "^/api/v2/dags$")
    assert [r.query["offset"] for r in listed] == [["0"], ["100"]]  # stopped at the donor
    assert {r.query["bundle_name"][0] for r in listed} == {"dags-folder"}  # sent all the same


def test_import_errors_are_read_only_back_to_the_wait_start(airflow_3_0: Any) -> None:
    """250 import errors of other files, which a filter would hide on 3.1.8: each poll reads one
    page (newest first), and the file's new error is found."""
    server, api = airflow_3_0
    server.add_dag("seed")
    for index in range(250):
        server.add_import_error(f"other_{index}.py", "boom")
    server.add_import_error("sf.py", TRACE, pending=True)
    with pytest.raises(PluginError, match=r"cannot import sf\.py: ModuleNotFoundError"):
        wait_for_dag(api, "sf", "build:v1", "sf.py", 5, **FAST_WAIT)
    reads = server.calls("GET", "importErrors")
    assert reads[0].query["limit"] == ["1"]  # the newest one, when the wait began
    assert all(r.query["offset"] == ["0"] for r in reads)  # never a second page
    assert all(r.query["filename_pattern"] == ["sf.py"] for r in reads[1:])


def test_an_error_of_another_file_with_the_same_name_part_is_ignored(airflow_3_0: Any) -> None:
    server, api = airflow_3_0
    server.add_dag("seed")
    server.add_import_error("sub/not_sf.py", TRACE, pending=True)
    server.add_dag("sf", ["build:v1"], pending=True)
    assert wait_for_dag(api, "sf", "build:v1", "sf.py", 5, **FAST_WAIT).dag_id == "sf"


# --- Airflow 2.10: a parse request parses the one file of its token ---


@pytest.fixture
def airflow_2(make_api: Any, make_stand_in: Any) -> Any:
    server = make_stand_in(api="v1")
    return server, make_api(host=server.url)


def test_airflow_2_parses_a_changed_dag_through_its_own_token(airflow_2: Any) -> None:
    server, api = airflow_2
    old = server.add_dag("sf", ["build:v1"], fileloc="sf.py")
    server.add_dag("sf", ["build:v2"], fileloc="sf.py", pending=True)
    said: list[str] = []
    assert wait_for_dag(api, "sf", "build:v2", "sf.py", 5, said.append, **FAST_WAIT).tags == (
        "build:v2",
    )
    assert server.parse_requests == [old.file_token]
    assert said == ["asked Airflow to parse sf.py again (waiting for build:v2)"]


def test_airflow_2_waits_for_its_scan_to_find_a_new_file(airflow_2: Any) -> None:
    server, api = airflow_2
    server.add_dag("seed")  # a token to borrow would not help: Airflow 2 parses that file only
    said: list[str] = []
    scan = threading.Timer(0.3, lambda: server.add_dag("sf", ["build:v1"]))
    scan.start()
    try:
        assert wait_for_dag(api, "sf", "build:v1", "sf.py", 5, said.append, **FAST_WAIT).dag_id
    finally:
        scan.cancel()
    assert server.parse_requests == []
    assert said == [
        "Airflow 2.10.5 finds new files only in its periodic scan: waiting for it to find sf.py "
        "([scheduler] dag_dir_list_interval, 300 s by default)"
    ]


def test_airflow_2_timeout_names_its_scan(airflow_2: Any) -> None:
    server, api = airflow_2
    with pytest.raises(PluginError) as info:
        wait_for_dag(api, "sf", "build:v1", "sf.py", 0.2, **FAST_WAIT)
    assert info.value.message == (
        f"timed out after 0.2 s waiting for Airflow at {server.url} to serve DAG 'sf' tagged "
        "'build:v1' from sf.py: the DAG is not in Airflow; Airflow finds new files in its "
        "periodic scan ([scheduler] dag_dir_list_interval, 300 s by default)"
    )
