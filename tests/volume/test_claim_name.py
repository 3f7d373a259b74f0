"""The claim name of a run: a valid DNS-1123 label, deterministic, different per DAG and run."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

airflow_dag_ids = st.from_regex(r"[A-Za-z0-9_.-]{1,250}", fullmatch=True)
any_dag_ids = st.one_of(airflow_dag_ids, st.text(max_size=300))
run_ids = st.one_of(
    st.builds(
        "{}__{}".format,
        st.sampled_from(["manual", "scheduled", "backfill", "asset_triggered"]),
        st.datetimes().map(lambda moment: moment.isoformat() + "+00:00"),
    ),
    st.text(alphabet="abcXYZ019+:._-~ T", max_size=300),
    st.text(max_size=300),
)


def _valid(name: str) -> bool:
    return len(name) <= 63 and DNS_LABEL.match(name) is not None


@settings(max_examples=400)
@given(dag_id=any_dag_ids, run_id=run_ids)
def test_names_are_dns_labels_and_deterministic(runtime: Any, dag_id: str, run_id: str) -> None:
    name = runtime.volume_claim_name(dag_id, run_id)
    assert _valid(name), name
    assert name == runtime.volume_claim_name(dag_id, run_id)
    assert name.startswith("kedro-")


@settings(max_examples=400)
@given(first=st.tuples(any_dag_ids, run_ids), second=st.tuples(any_dag_ids, run_ids))
def test_different_runs_get_different_names(
    runtime: Any, first: tuple[str, str], second: tuple[str, str]
) -> None:
    if first != second:
        assert runtime.volume_claim_name(*first) != runtime.volume_claim_name(*second)


def test_the_split_between_dag_id_and_run_id_counts(runtime: Any) -> None:
    names = {
        runtime.volume_claim_name("a:", "b"),
        runtime.volume_claim_name("a", ":b"),
        runtime.volume_claim_name("a", "b"),
        runtime.volume_claim_name("", "ab"),
    }
    assert len(names) == 4


def test_same_run_id_in_two_dags_and_two_runs_of_one_dag(runtime: Any) -> None:
    run = "manual__2026-01-01T00:00:00+00:00"
    assert runtime.volume_claim_name("x.__default__.prod", run) != runtime.volume_claim_name(
        "x.__default__.dev", run
    )
    assert runtime.volume_claim_name("x", run) != runtime.volume_claim_name("x", run + "1")


def test_long_ids_are_cut_and_the_readable_part_names_the_dag(runtime: Any) -> None:
    long_dag = "Spaceflights." + "very_long_pipeline_name_" * 10 + ".prod"
    name = runtime.volume_claim_name(long_dag, "manual__" + "9" * 240)
    assert len(name) == 63 and _valid(name)
    assert name.startswith("kedro-spaceflights-very-long-pipeline-name-")
    # Nothing readable left: prefix and hash only.
    assert re.fullmatch(r"kedro-[0-9a-f]{12}", runtime.volume_claim_name("___...", "r"))


def test_the_name_never_changes_between_releases(runtime: Any) -> None:
    """Pods of a run still going when a new DAG file (a newer plugin) is uploaded compute the
    name with the new code: the function must keep giving the same names."""
    name = runtime.volume_claim_name(
        "spaceflights.__default__.local", "manual__2026-01-01T00:00:00+00:00"
    )
    assert name == "kedro-spaceflights-default-local-77a860dea67c"
