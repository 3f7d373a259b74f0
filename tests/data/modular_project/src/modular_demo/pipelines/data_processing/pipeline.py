from __future__ import annotations

import pandas as pd
from kedro.pipeline import Pipeline, node


def prepare(sales: pd.DataFrame) -> pd.DataFrame:
    return sales.dropna()


def create_pipeline(**kwargs: object) -> Pipeline:
    return Pipeline([node(prepare, "raw_sales", "model_input@pandas1", name="prepare_node")])
