"""Spark groups: the plan's spark nodes run as Spark jobs (Dataproc, spark-submit to Kubernetes
or a custom operator factory). Keys in :mod:`.config`; the compile side in :mod:`.feature` (the
SPEC section in :mod:`.spec`, the uploaded files in :mod:`.artifacts`, :mod:`.scripts` and
:mod:`.project_files`, a custom factory's code in :mod:`.custom`, its contract in
:mod:`.factory`); the operators in :mod:`kedro_airflow_k8s.runtime.spark`."""
