"""Project settings: Kedro's defaults, without kedro-mlflow's hook should it be installed."""

DISABLE_HOOKS_FOR_PLUGINS = ("kedro-mlflow", "kedro_mlflow")
