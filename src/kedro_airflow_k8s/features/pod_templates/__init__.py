"""Kubernetes pod templates: a task's pod made from a template of the config
(``run_config.kubernetes_pod_templates``, keys in :mod:`.config`; the
SPEC section in :mod:`.feature`; the DAG builder applies it to the task's pod)."""
