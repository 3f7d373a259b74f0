"""Typed configuration of the plugin (``kedro-airflow-k8s.yaml``) and its loading."""

from kedro_airflow_k8s.config.loading import legacy_config_notes, parse_config, read_raw_config
from kedro_airflow_k8s.config.models import PluginConfig, RunConfig

__all__ = ["PluginConfig", "RunConfig", "legacy_config_notes", "parse_config", "read_raw_config"]
