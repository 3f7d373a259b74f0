"""Fixtures of the MLflow tests: one real MLflow tracking server on loopback for the package.

* ``mlflow_server`` -> a started ``server.MlflowServer`` (SQLite store in a temporary folder),
  shared by every test of tests/mlflow and stopped when they are done (package scope: it is not
  kept alive while the rest of the session runs).
* ``mlflow_client`` -> an ``MlflowClient`` for that server.
* ``mlflow_spec`` -> SPEC["mlflow"] for that server with an experiment name of its own per test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.mlflow.server import MlflowServer, require_mlflow


@pytest.fixture(scope="package")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    require_mlflow()
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mlflow_client(mlflow_server: MlflowServer) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=mlflow_server.url)


@pytest.fixture
def mlflow_spec(mlflow_server: MlflowServer) -> dict[str, Any]:
    return {
        "tracking_uri": mlflow_server.url,
        "experiment_name": f"exp-{uuid.uuid4().hex[:8]}",
        "auth": {"type": "Null", "params": []},
        "task_id": "start_mlflow_run",
        "end_task_id": "end_mlflow_run",
        "run_name": "demo.__default__.prod",
        "image": "registry.example.com/demo:abc123",
    }
