"""Fixtures that compile the bundled example with the real CLI and load it in real Airflow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import DUMMY_KUBECONFIG, copy_example, kedro


@dataclass(frozen=True)
class CompiledExample:
    project: Path
    dags_folder: Path
    dag_file: Path
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def compiled_example(tmp_path_factory: pytest.TempPathFactory) -> CompiledExample:
    base = tmp_path_factory.mktemp("example")
    project = copy_example(base)
    dags = base / "dags"
    done = kedro(project, "airflow-k8s", "compile", "-o", str(dags))
    assert done.returncode == 0, done.stderr[-3000:]
    files = sorted(dags.glob("*.py"))
    assert len(files) == 1, files
    return CompiledExample(project, dags, files[0], done.stdout, done.stderr)


@pytest.fixture(scope="session")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(DUMMY_KUBECONFIG)
    return path


@pytest.fixture(scope="session")
def example_dag(compiled_example: CompiledExample) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(compiled_example.dags_folder))
    assert bag.import_errors == {}
    assert len(bag.dags) == 1
    return next(iter(bag.dags.values()))


@pytest.fixture(scope="session")
def kedro_pipeline(compiled_example: CompiledExample) -> Any:
    """The example's ``__default__`` pipeline, straight from Kedro."""
    from kedro.framework.project import pipelines
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(compiled_example.project)
    return pipelines["__default__"]
