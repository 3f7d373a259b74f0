"""Every config the models accept gives a DAG that Airflow 3 imports, serializes and schedules.

Configs are drawn from the models' value space (see :mod:`tests.integration.config_space`); a
document the models refuse is discarded, one they accept must make a DAG that a real DagBag
loads without import errors and that the later steps of Airflow take too.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings

from kedro_airflow_k8s.config import PluginConfig, parse_config
from kedro_airflow_k8s.errors import ConfigError
from tests.integration.config_space import airflow_takes, configs

pytestmark = pytest.mark.airflow


def _accepted(document: dict[str, Any]) -> PluginConfig:
    try:
        return parse_config(document)
    except ConfigError:
        reject()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(configs)
def test_an_accepted_config_gives_a_dag_airflow_takes(document: dict[str, Any]) -> None:
    config = _accepted(document)
    with tempfile.TemporaryDirectory() as folder:
        airflow_takes(config, Path(folder))
