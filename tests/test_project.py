"""The project snapshot, taken from a real Kedro 1.x project (a copy of the bundled example)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s.project import describe_annotations, describe_datasets, load_project
from kedro_airflow_k8s.snapshot import DatasetSource
from tests.helpers import copy_example


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    project = copy_example(tmp_path_factory.mktemp("snapshot"))
    return load_project(project, "local", ["__default__", "data_processing"])


def test_pipelines_and_nodes(loaded: Any) -> None:
    snapshot = loaded.snapshot
    assert set(snapshot.pipelines) == {"__default__", "data_processing"}
    nodes = {n.name: n for n in snapshot.pipelines["__default__"].nodes}
    assert len(nodes) == 9
    train = nodes["active_modelling_pipeline.train_model_node"]
    assert train.namespace == "active_modelling_pipeline"
    assert train.tags == ("resources.gpu",)
    assert train.inputs == (
        "active_modelling_pipeline.X_train",
        "active_modelling_pipeline.y_train",
    )
    assert train.func == "spaceflights.pipelines.data_science.nodes.train_model"
    assert nodes["preprocess_companies_node"].tags == ("airflow.preprocessing",)
    assert [n.name for n in snapshot.pipelines["data_processing"].nodes][-1] == (
        "create_model_input_table_node"
    )


def test_project_facts(loaded: Any) -> None:
    snapshot = loaded.snapshot
    assert (snapshot.project_name, snapshot.package_name, snapshot.env) == (
        "Spaceflights",
        "spaceflights",
        "local",
    )
    assert snapshot.kedro_version.startswith("1.")
    assert snapshot.commit_sha is not None and len(snapshot.commit_sha) == 40
    assert snapshot.branch == "main"
    assert "active_modelling_pipeline" in snapshot.parameters


def test_dataset_kinds(loaded: Any) -> None:
    datasets = loaded.snapshot.datasets
    assert datasets["companies"].source is DatasetSource.ENTRY
    assert datasets["companies"].type == "pandas.CSVDataset"
    x_train = datasets["active_modelling_pipeline.X_train"]
    assert (x_train.source, x_train.type, x_train.pattern) == (
        DatasetSource.FACTORY,
        "pickle.PickleDataset",
        "{namespace}.X_train",
    )
    assert datasets["params:active_modelling_pipeline.model_options"].source is DatasetSource.PARAMS
    assert not any(d.is_memory for d in datasets.values())


def test_config_is_loaded_with_the_snapshot(loaded: Any) -> None:
    run_config = loaded.config.run_config
    assert run_config.namespace == "kedro"
    assert run_config.image == f"spaceflights:{loaded.snapshot.commit_sha}"
    assert set(run_config.resources) == {"__default__", "high_memory", "gpu"}


def test_describe_datasets_without_instantiating() -> None:
    catalog = {
        "a": {"type": "pandas.CSVDataset", "filepath": "nowhere/a.csv", "credentials": "missing"},
        "{name}_spark": {"type": "spark.SparkDataset", "filepath": "s3://x/{name}"},
        "m": {"type": "MemoryDataset"},
        "_anchor": {"type": "ignored"},
    }
    found = describe_datasets(["a", "x_spark", "m", "free", "parameters"], catalog)
    assert found["a"].type == "pandas.CSVDataset"
    assert (found["x_spark"].source, found["x_spark"].type) == (
        DatasetSource.FACTORY,
        "spark.SparkDataset",
    )
    assert found["m"].is_memory
    assert found["free"].source is DatasetSource.NONE and found["free"].is_memory
    assert found["parameters"].source is DatasetSource.PARAMS


def test_annotations_are_qualified_without_importing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "spark_nodes.py").write_text(
        textwrap.dedent(
            """
            from __future__ import annotations
            from typing import TYPE_CHECKING, Optional
            import pandas as pd
            if TYPE_CHECKING:
                from pyspark.sql import DataFrame
                import pyspark.sql as ps

            def f(a: DataFrame, b: Optional[ps.DataFrame], c: pd.DataFrame) -> list[DataFrame]:
                return []
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import spark_nodes  # type: ignore[import-not-found]

    pyspark_loaded = "pyspark" in sys.modules
    described = dict(describe_annotations(spark_nodes.f))
    assert ("pyspark" in sys.modules) == pyspark_loaded
    assert described == {
        "a": "pyspark.sql.DataFrame",
        "b": "typing.Optional[pyspark.sql.DataFrame]",
        "c": "pandas.DataFrame",
        "return": "list[pyspark.sql.DataFrame]",
    }


def test_unknown_pipeline_is_a_clear_error(tmp_path: Path) -> None:
    from kedro_airflow_k8s.errors import PluginError

    project = copy_example(tmp_path, git=False)
    with pytest.raises(PluginError) as error:
        load_project(project, "local", ["nope"])
    assert error.value.message == (
        "pipeline 'nope' is not registered (known: __default__, data_processing, data_science)"
    )
