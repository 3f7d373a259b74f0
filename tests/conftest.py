"""Settings every test needs before Kedro or Airflow are imported."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator

import pytest

# Airflow reads AIRFLOW_HOME when it is first imported: never touch the user's ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="kak8s-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ["KEDRO_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "1"


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """Loading a Kedro project in-process applies the project's logging set-up to the whole
    process (handlers on the root logger, DEBUG levels...). Each test gets back the logging it
    started with, so what one test's project configured never shows in another's output."""
    manager = logging.Logger.manager
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers), root.disabled)
    saved = {
        name: (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    root.setLevel(saved_root[0])
    root.handlers[:] = saved_root[1]
    root.disabled = saved_root[2]
    for name, logger in list(manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger):
            continue
        # A logger made during the test goes back to the defaults.
        default: tuple[int, list[logging.Handler], bool, bool] = (logging.NOTSET, [], True, False)
        level, handlers, propagate, disabled = saved.get(name, default)
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.disabled = disabled


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start mypy in the background when its test is selected (see tests/test_lint.py), and
    building the helper virtualenvs the selected tests need (``@pytest.mark.venv``), in test
    order, in the background (KAK8S_PREFETCH_VENVS=0: each on first use instead)."""
    mypy_test = "test_lint.py::test_mypy_strict"
    if not session.config.option.collectonly and any(
        item.nodeid.endswith(mypy_test) for item in session.items
    ):
        from tests import test_lint

        test_lint.start_mypy()
    if os.environ.get("KAK8S_PREFETCH_VENVS", "1") == "0":
        return
    from tests import venvs

    names = [mark.args[0] for item in session.items for mark in item.iter_markers("venv")]
    venvs.prefetch(names)


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests import test_lint, venvs

    venvs.stop()
    test_lint.stop_mypy()
