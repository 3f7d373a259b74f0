"""Shared fixtures of the config tests: no telemetry, no leaking KEDRO_CONFIG_* variables."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    for name in list(os.environ):
        if name.startswith("KEDRO_CONFIG_"):
            monkeypatch.delenv(name)
