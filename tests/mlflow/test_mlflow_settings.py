"""Reading the project's kedro-mlflow config (features/mlflow/settings.py), real loader."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s.errors import ConfigError
from kedro_airflow_k8s.features.mlflow.settings import (
    MlflowSettings,
    parse_mlflow_config,
    read_mlflow_settings,
)
from tests.mlflow.server import require_mlflow

# Kedro's own use of an OmegaConf API deprecated upstream.
pytestmark = pytest.mark.filterwarnings(r"ignore:register_new_resolver\(\) is deprecated")


def _loader(conf: Path, env: str = "prod") -> Any:
    """A real loader; read_mlflow_settings gives None unless kedro-mlflow is installed."""
    from kedro.config import OmegaConfigLoader

    require_mlflow("kedro_mlflow")

    (conf / "base").mkdir(parents=True, exist_ok=True)
    (conf / env).mkdir(parents=True, exist_ok=True)
    return OmegaConfigLoader(
        conf_source=str(conf), base_env="base", default_run_env="local", env=env
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_no_mlflow_yml_means_no_mlflow(tmp_path: Path) -> None:
    _write(tmp_path / "base" / "catalog.yml", "{}\n")
    assert read_mlflow_settings(_loader(tmp_path)) is None


def test_kedro_mlflow_not_importable_means_no_mlflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "base" / "mlflow.yml", "server: {mlflow_tracking_uri: http://h:5000}\n")
    loader = _loader(tmp_path)
    monkeypatch.setitem(sys.modules, "kedro_mlflow", None)  # what a failing import sees
    assert read_mlflow_settings(loader) is None


@pytest.mark.parametrize("name", ["kedro_mlflow", "kedro-mlflow"])
def test_a_project_that_disables_kedro_mlflows_hook_does_not_use_it(
    tmp_path: Path, name: str
) -> None:
    _write(tmp_path / "base" / "mlflow.yml", "server: {mlflow_tracking_uri: http://h:5000}\n")
    assert read_mlflow_settings(_loader(tmp_path), disabled_plugins=("kedro-viz", name)) is None
    assert read_mlflow_settings(_loader(tmp_path), disabled_plugins=("kedro-viz",)) is not None


def test_tracking_uri_and_experiment_from_base(tmp_path: Path) -> None:
    _write(
        tmp_path / "base" / "mlflow.yml",
        "server:\n"
        "  mlflow_tracking_uri: https://mlflow.example.com\n"
        "tracking:\n"
        "  experiment:\n"
        "    name: price-model\n"
        "    create_experiment_kwargs:\n"
        "      artifact_location: gs://bucket/mlflow\n"
        "      tags: {team: data, tier: 1}\n"
        "  run: {name: nightly}\n"
        "  disable_tracking: {pipelines: [data_processing]}\n",
    )
    settings = read_mlflow_settings(_loader(tmp_path), package_name="spaceflights")
    assert settings == MlflowSettings(
        tracking_uri="https://mlflow.example.com",
        experiment_name="price-model",
        artifact_location="gs://bucket/mlflow",
        experiment_tags={"team": "data", "tier": "1"},
        run_name="nightly",
        disabled_pipelines=("data_processing",),
    )
    assert not settings.is_local
    assert settings.warnings() == []
    assert settings.tracking_disabled_for("data_processing")
    assert not settings.tracking_disabled_for("__default__")


def test_the_run_environment_overrides_base_and_interpolations_resolve(tmp_path: Path) -> None:
    _write(
        tmp_path / "base" / "mlflow.yml",
        "server: {mlflow_tracking_uri: mlruns}\ntracking: {experiment: {name: base-name}}\n",
    )
    _write(tmp_path / "prod" / "globals.yml", "mlflow_host: mlflow.prod.internal\n")
    _write(
        tmp_path / "prod" / "mlflow.yml",
        "_port: 8443\nserver:\n  mlflow_tracking_uri: https://${globals:mlflow_host}:${_port}\n",
    )
    settings = read_mlflow_settings(_loader(tmp_path, "prod"))
    assert settings is not None
    assert settings.tracking_uri == "https://mlflow.prod.internal:8443"
    assert settings.experiment_name == "base-name"  # tracking: only in base


def test_mlflow_yml_in_a_subfolder_is_found(tmp_path: Path) -> None:
    """kedro-mlflow's patterns include ``**/mlflow*``."""
    _write(tmp_path / "base" / "tracking" / "mlflow.yml", "server: {mlflow_tracking_uri: x://h}\n")
    settings = read_mlflow_settings(_loader(tmp_path))
    assert settings is not None and settings.tracking_uri == "x://h"


def test_an_unset_uri_is_kedro_mlflows_local_default_and_is_flagged(tmp_path: Path) -> None:
    _write(tmp_path / "base" / "mlflow.yml", "server:\n  mlflow_tracking_uri: null\n")
    settings = read_mlflow_settings(_loader(tmp_path), package_name="spaceflights")
    assert settings is not None
    assert (settings.tracking_uri, settings.experiment_name) == ("mlruns", "spaceflights")
    assert settings.is_local and not settings.tracking_uri_configured
    [warning] = settings.warnings()
    assert "'mlruns' (kedro-mlflow's default), a local store" in warning


def test_an_empty_mlflow_yml_is_kedro_mlflow_with_its_defaults(tmp_path: Path) -> None:
    _write(tmp_path / "base" / "mlflow.yml", "# everything commented out\n")
    settings = read_mlflow_settings(_loader(tmp_path))
    assert settings is not None
    assert settings.tracking_uri == "mlruns" and settings.experiment_name is None


@pytest.mark.parametrize(
    ("uri", "local"),
    [
        ("mlruns", True),
        ("/srv/mlruns", True),
        ("file:///srv/mlruns", True),
        ("sqlite:///mlflow.db", True),
        ("C:\\mlruns", True),
        ("http://mlflow:5000", False),
        ("https://mlflow.example.com", False),
        ("postgresql://u@db/mlflow", False),
        ("databricks", False),
        ("databricks-uc", False),
    ],
)
def test_which_uris_are_local(uri: str, local: bool) -> None:
    assert MlflowSettings(tracking_uri=uri, experiment_name=None).is_local is local


def test_a_fixed_run_id_is_flagged() -> None:
    settings = parse_mlflow_config(
        {"server": {"mlflow_tracking_uri": "http://h"}, "tracking": {"run": {"id": "abc"}}}
    )
    [warning] = settings.warnings()
    assert "tracking.run.id is set ('abc')" in warning


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"server": "http://h"}, "mlflow.yml: server: a mapping"),
        ({"server": {"mlflow_tracking_uri": 5}}, "server.mlflow_tracking_uri: a string"),
        ({"tracking": {"experiment": {"name": ["x"]}}}, "tracking.experiment.name: a string"),
        ({"tracking": {"disable_tracking": {"pipelines": "a"}}}, "pipelines: a list"),
    ],
)
def test_wrong_types_are_config_errors(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_mlflow_config(raw)


def test_kedro_mlflow_random_name_resolver_works_without_its_hook(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    OmegaConf.clear_resolver("km.random_name")
    _write(
        tmp_path / "base" / "mlflow.yml",
        "server: {mlflow_tracking_uri: http://h}\ntracking: {run: {name: '${km.random_name:}'}}\n",
    )
    settings = read_mlflow_settings(_loader(tmp_path))
    assert settings is not None and settings.run_name and "$" not in settings.run_name


def test_a_broken_interpolation_is_a_config_error(tmp_path: Path) -> None:
    _write(tmp_path / "base" / "mlflow.yml", "server: {mlflow_tracking_uri: '${nope:x}'}\n")
    with pytest.raises(ConfigError, match=r"^mlflow\.yml: "):
        read_mlflow_settings(_loader(tmp_path))
