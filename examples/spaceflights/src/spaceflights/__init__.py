"""Spaceflights: example Kedro project bundled with kedro-airflow-k8s."""

__version__ = "0.1"
