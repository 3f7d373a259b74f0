"""Compile Kedro pipelines into Airflow DAGs that run every task as a Kubernetes pod."""

__version__ = "1.0.0.dev0"
