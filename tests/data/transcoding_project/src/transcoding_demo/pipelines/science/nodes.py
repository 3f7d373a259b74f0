from __future__ import annotations

from typing import Any

import pandas as pd


def split_data(data: pd.DataFrame, parameters: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    test = data.sample(frac=parameters["test_size"], random_state=parameters["random_state"])
    train = data.drop(test.index)
    return train.drop(columns="price"), test.drop(columns="price"), train["price"], test["price"]


def train_model(features: pd.DataFrame, target: pd.Series, n_estimators: int) -> Any:
    return {"n_estimators": n_estimators, "mean": float(target.mean())}
