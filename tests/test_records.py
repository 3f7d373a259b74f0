"""The named tuples whose mapping fields default to a shared empty mapping: the default reads as
an empty mapping, cannot be changed, and a record holding it pickles and deep-copies."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

from kedro_airflow_k8s.compiled import CompiledDag
from kedro_airflow_k8s.features.mlflow.settings import MlflowSettings
from kedro_airflow_k8s.plan.model import TaskPlan
from kedro_airflow_k8s.snapshot import NO_ENTRIES, PipelineSpec

RECORDS = [
    PipelineSpec("p", ()),
    MlflowSettings("http://mlflow:5000", None),
    CompiledDag("d", "d.py", TaskPlan("p", ()), {}, "source"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("record", RECORDS, ids=[type(r).__name__ for r in RECORDS])
def test_a_record_with_the_default_mapping_pickles_and_copies(record: Any) -> None:
    assert pickle.loads(pickle.dumps(record)) == record
    assert copy.deepcopy(record) == record
    assert copy.copy(record) == record


def test_the_shared_default_is_an_empty_mapping_that_cannot_change() -> None:
    assert NO_ENTRIES == {} and len(NO_ENTRIES) == 0 and list(NO_ENTRIES) == []
    assert NO_ENTRIES.get("x") is None and "x" not in NO_ENTRIES
    with pytest.raises(KeyError):
        NO_ENTRIES["x"]
    with pytest.raises(TypeError):
        NO_ENTRIES["x"] = 1  # type: ignore[index]
    assert pickle.loads(pickle.dumps(NO_ENTRIES)) is NO_ENTRIES
    assert copy.deepcopy(NO_ENTRIES) is NO_ENTRIES
    assert PipelineSpec("p", ()) == PipelineSpec("p", (), None, {})
