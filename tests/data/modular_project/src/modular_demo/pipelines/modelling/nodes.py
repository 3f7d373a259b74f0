from __future__ import annotations

from typing import Any

import pandas as pd


def split(data: pd.DataFrame, options: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    test = data.sample(frac=options["test_size"], random_state=1)
    return data.drop(test.index)[options["features"]], test[options["features"]]


def train(train_set: pd.DataFrame, seed: int) -> dict[str, Any]:
    return {"seed": seed, "rows": len(train_set)}


def evaluate(model: dict[str, Any], test_set: pd.DataFrame) -> dict[str, float]:
    return {"score": float(len(test_set)) / (model["rows"] or 1)}


def check(metrics: dict[str, float], diagnostics: dict[str, float]) -> bool:
    return metrics["score"] > diagnostics["threshold"]
