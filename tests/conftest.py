"""Settings every test needs before Kedro or Airflow are imported."""

from __future__ import annotations

import os
import tempfile

import pytest

# Airflow reads AIRFLOW_HOME when it is first imported: never touch the user's ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="kak8s-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ["KEDRO_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "1"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start building the helper virtualenvs the selected tests need (``@pytest.mark.venv``),
    in test order, in the background (KAK8S_PREFETCH_VENVS=0: each on first use instead)."""
    if os.environ.get("KAK8S_PREFETCH_VENVS", "1") == "0":
        return
    from tests import venvs

    names = [mark.args[0] for item in session.items for mark in item.iter_markers("venv")]
    venvs.prefetch(names)


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests import venvs

    venvs.stop()
