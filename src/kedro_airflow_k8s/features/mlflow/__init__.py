"""MLflow: one MLflow run per DAG run, shared by the pods' kedro-mlflow. Keys in :mod:`.config`,
the project's kedro-mlflow settings in :mod:`.settings`, the SPEC section and warnings in
:mod:`.feature`, the run's start and end in :mod:`kedro_airflow_k8s.runtime.mlflow_run`."""
