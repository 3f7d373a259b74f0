"""Local execution: each node task runs its ``kedro run`` as a process of the Airflow worker
(``run_config.execution: local``). Keys in :mod:`.config`, the SPEC (and the
section) in :mod:`.feature`, the operator in :mod:`kedro_airflow_k8s.runtime.local`."""
