"""Project settings. Only values that differ from the Kedro defaults are set here.

See https://docs.kedro.org/en/stable/configure/configuration_basics/ for the
full list of available settings.
"""

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}

# The example does not track experiments: if kedro-mlflow is installed in the same environment,
# keep its automatically registered hook off (tests turn it on with their own settings).
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-mlflow", "kedro_mlflow")
