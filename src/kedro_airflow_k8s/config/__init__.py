"""Typed configuration of the plugin (``airflow-k8s.yaml``) and its loading."""

from kedro_airflow_k8s.config.loading import parse_config, read_raw_config
from kedro_airflow_k8s.config.models import PluginConfig, RunConfig

__all__ = ["PluginConfig", "RunConfig", "parse_config", "read_raw_config"]
