# --- appended by tests/mlflow/overlay.py: this copy tracks its runs with kedro-mlflow ---
DISABLE_HOOKS_FOR_PLUGINS = ()
