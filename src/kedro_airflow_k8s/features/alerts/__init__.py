"""Failure alerts: a message to Slack when a task fails.

The feature's home: ``config.py`` (``run_config.failure_handlers``), ``feature.py`` (the SPEC's
``failure_handlers`` section, declared as ``AlertSpec`` in ``runtime/spec.py``) and its runtime
module ``runtime/alerts.py`` (``AlertsExtension``: every task's ``on_failure_callback``).
"""
