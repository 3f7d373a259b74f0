"""Node functions of the data_science pipeline.

The regression is an ordinary least squares fit done with ``numpy.linalg.lstsq``
so the project needs nothing beyond pandas and numpy.
"""

import logging
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)


def split_data(data: pd.DataFrame, parameters: dict[str, Any]) -> tuple:
    """Split the model input table into training and test sets.

    Args:
        data: The model input table.
        parameters: ``model_options`` with ``features``, ``test_size`` and ``random_state``.
    Returns:
        ``X_train, X_test, y_train, y_test``.
    """
    features = list(parameters["features"])
    X = data[features].astype(float)
    y = data["price"].astype(float)

    # Numbers may arrive as text: an Airflow run's conf (`run-once --param`) passes strings.
    rng = np.random.default_rng(int(parameters["random_state"]))
    order = rng.permutation(len(data))
    n_test = max(1, int(round(len(data) * float(parameters["test_size"]))))
    test_idx, train_idx = order[:n_test], order[n_test:]

    return X.iloc[train_idx], X.iloc[test_idx], y.iloc[train_idx], y.iloc[test_idx]


def train_model(X_train: pd.DataFrame, y_train: pd.Series) -> dict[str, Any]:
    """Fit a linear regression with an intercept.

    Args:
        X_train: Training features.
        y_train: Training target (price).
    Returns:
        The fitted model as a plain dict: feature names, coefficients and intercept.
    """
    design = np.column_stack([np.ones(len(X_train)), X_train.to_numpy(dtype=float)])
    solution, *_ = np.linalg.lstsq(design, y_train.to_numpy(dtype=float), rcond=None)
    return {
        "features": list(X_train.columns),
        "intercept": float(solution[0]),
        "coefficients": [float(c) for c in solution[1:]],
    }


def _predict(regressor: dict[str, Any], X: pd.DataFrame) -> np.ndarray:
    values = X[regressor["features"]].to_numpy(dtype=float)
    return values @ np.asarray(regressor["coefficients"]) + regressor["intercept"]


def evaluate_model(
    regressor: dict[str, Any], X_test: pd.DataFrame, y_test: pd.Series
) -> dict[str, float]:
    """Score the model on the test set.

    Args:
        regressor: The fitted model from ``train_model``.
        X_test: Test features.
        y_test: Test target (price).
    Returns:
        R^2, mean absolute error and max error, stored as metrics.
    """
    y_true = y_test.to_numpy(dtype=float)
    y_pred = _predict(regressor, X_test)
    residuals = y_true - y_pred
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residuals**2)) / total if total > 0 else 0.0
    metrics = {
        "r2_score": r2,
        "mae": float(np.mean(np.abs(residuals))),
        "max_error": float(np.max(np.abs(residuals))),
        "n_test": int(len(y_true)),
    }
    logger.info("Model has a coefficient R^2 of %.3f on test data.", r2)
    return metrics
