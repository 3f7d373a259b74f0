"""In-memory data between pods: datasets without a catalog entry kept in the run's storage. Keys
in :mod:`.config`, the SPEC section in :mod:`.feature`, the hook's side in
:mod:`kedro_airflow_k8s.runtime.memory`."""
