"""The committed configuration reference is the one the models generate."""

from __future__ import annotations

from kedro_airflow_k8s.config.reference import config_reference
from tests.helpers import REPO


def test_configuration_reference_is_current() -> None:
    committed = (REPO / "docs" / "configuration.md").read_text()
    assert committed == config_reference(), (
        "docs/configuration.md is stale: run "
        "`python -m kedro_airflow_k8s.config.reference > docs/configuration.md`"
    )


def test_every_key_is_in_the_reference() -> None:
    from pydantic import BaseModel

    from kedro_airflow_k8s.config import models

    text = config_reference()
    for value in vars(models).values():
        if (
            isinstance(value, type)
            and issubclass(value, BaseModel)
            and value.__module__ == models.__name__
        ):
            for name, field in value.model_fields.items():
                assert f"| `{field.alias or name}` |" in text, (value.__name__, name)
