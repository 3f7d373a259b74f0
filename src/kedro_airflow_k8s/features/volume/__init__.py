"""The per-run volume: one claim shared by the run's pods. Keys in :mod:`.config`, the SPEC
section in :mod:`.feature`, the claim and mounts in :mod:`kedro_airflow_k8s.runtime.volume`."""
