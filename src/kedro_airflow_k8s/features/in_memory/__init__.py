"""In-memory data between pods: datasets without a catalog entry kept in the run's storage. Keys
in :mod:`.config`, the SPEC section in :mod:`.feature`, the hook's side in
:mod:`kedro_airflow_k8s.runtime.memory`."""

#: ``run_config.in_memory.storage`` naming the run's volume (here, not in :mod:`.config`, whose
#: model is defined only when a config has the section).
IN_MEMORY_ON_VOLUME = "volume"
