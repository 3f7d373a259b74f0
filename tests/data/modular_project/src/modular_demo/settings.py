"""Project settings (Kedro's defaults)."""

DISABLE_HOOKS_FOR_PLUGINS = ("kedro-mlflow", "kedro_mlflow")
