"""Code that runs inside Airflow.

These modules are embedded verbatim into generated DAG files and must import nothing from
``kedro_airflow_k8s`` (nor use ``from __future__``); they are unit-tested as ordinary modules.
"""
