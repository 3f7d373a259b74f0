"""The plugin's Kedro hook: off unless the pod's environment asks, then the listed datasets of a
real Kedro ``DataCatalog`` are pickle files of the run's folder (saved by one catalog, loaded by
another, as by two pods). Its discovery through the ``kedro.hooks`` entry point of an installed
plugin is shown by the e2e run (tests/e2e/test_in_memory_e2e.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from kedro_airflow_k8s import hooks
from kedro_airflow_k8s.errors import PluginError
from kedro_airflow_k8s.runtime.memory import (
    MEMORY_DATASETS_ENV,
    MEMORY_STORAGE_ENV,
    memory_run_storage,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def test_without_the_environment_nothing_happens(monkeypatch: pytest.MonkeyPatch) -> None:
    from kedro.io import DataCatalog, MemoryDataset

    monkeypatch.delenv(MEMORY_STORAGE_ENV, raising=False)
    monkeypatch.delenv(MEMORY_DATASETS_ENV, raising=False)
    catalog = DataCatalog(datasets={"m": MemoryDataset()})
    hooks.in_memory_storage_hooks.after_catalog_created(catalog)
    assert list(catalog.keys()) == ["m"] and isinstance(catalog.get("m"), MemoryDataset)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {MEMORY_STORAGE_ENV: "/x"},
            "kedro-airflow-k8s: KEDRO_AIRFLOW_K8S_MEMORY_STORAGE is set but "
            "KEDRO_AIRFLOW_K8S_MEMORY_DATASETS is not",
        ),
        (
            {MEMORY_DATASETS_ENV: '["m"]'},
            "kedro-airflow-k8s: KEDRO_AIRFLOW_K8S_MEMORY_DATASETS is set but "
            "KEDRO_AIRFLOW_K8S_MEMORY_STORAGE is not",
        ),
        (
            {MEMORY_STORAGE_ENV: "/x", MEMORY_DATASETS_ENV: "m1,m2"},
            "kedro-airflow-k8s: KEDRO_AIRFLOW_K8S_MEMORY_DATASETS must be a JSON list of dataset "
            "names, not 'm1,m2'",
        ),
    ],
)
def test_a_half_set_environment_is_a_one_line_error(environ: dict[str, str], message: str) -> None:
    with pytest.raises(PluginError) as raised:
        hooks.persisted_datasets(environ)
    assert raised.value.message == message


def test_the_listed_datasets_are_kept_in_the_runs_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kedro.io import DataCatalog, MemoryDataset
    from kedro_datasets.pickle import PickleDataset

    folder = memory_run_storage(str(tmp_path), "demo.__default__.local", "manual__2026+00:00")
    monkeypatch.setenv(MEMORY_STORAGE_ENV, folder)
    monkeypatch.setenv(MEMORY_DATASETS_ENV, json.dumps(["ns.table", "declared"]))

    def pod_catalog() -> DataCatalog:
        catalog = DataCatalog(datasets={"declared": MemoryDataset(), "other": MemoryDataset()})
        hooks.in_memory_storage_hooks.after_catalog_created(catalog)
        return catalog

    writer = pod_catalog()
    assert isinstance(writer.get("ns.table"), PickleDataset)
    assert isinstance(writer.get("declared"), PickleDataset)  # a MemoryDataset entry replaced
    assert isinstance(writer.get("other"), MemoryDataset)  # not listed: left alone
    writer.save("ns.table", {"rows": [1, 2]})
    writer.save("declared", "text")
    assert (Path(folder) / "ns.table.pickle").is_file()
    reader = pod_catalog()  # another pod of the same run
    assert reader.load("ns.table") == {"rows": [1, 2]}
    assert reader.load("declared") == "text"


def test_the_hook_is_registered_through_kedros_entry_point() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    entry_points = project["project"]["entry-points"]["kedro.hooks"]
    assert entry_points == {
        "airflow_k8s_in_memory": "kedro_airflow_k8s.hooks:in_memory_storage_hooks"
    }
    module, _, name = entry_points["airflow_k8s_in_memory"].partition(":")
    assert getattr(sys.modules[module], name) is hooks.in_memory_storage_hooks
