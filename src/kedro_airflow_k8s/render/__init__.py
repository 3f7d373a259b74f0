"""Pure rendering: plan + config → the text of a self-contained DAG file."""

from kedro_airflow_k8s.render.dag import DagContext, build_spec, render_dag

__all__ = ["DagContext", "build_spec", "render_dag"]
