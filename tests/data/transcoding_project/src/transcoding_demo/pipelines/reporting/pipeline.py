from __future__ import annotations

import pandas as pd
from kedro.pipeline import Pipeline, node


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    return table.describe()


def publish(summary: pd.DataFrame) -> str:
    return summary.to_markdown()


def create_pipeline(**kwargs: object) -> Pipeline:
    return Pipeline(
        [
            node(summarise, "model_input_table@pandas", "summary@pandas1", name="summarise_node"),
            node(publish, "summary@pandas2", "report", name="publish_node"),
        ]
    )
