"""Project settings: Kedro's defaults."""
