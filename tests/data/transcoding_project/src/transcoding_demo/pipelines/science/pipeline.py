from __future__ import annotations

from functools import partial

from kedro.pipeline import Pipeline, node

from transcoding_demo.tags import BIG_MACHINE

from .nodes import split_data, train_model


def create_pipeline(**kwargs: object) -> Pipeline:
    return Pipeline(
        [
            node(
                split_data,
                ["model_input_table@pandas", "params:split"],
                ["X_train", "X_test", "y_train", "y_test"],
                name="split_data_node",
            ),
            node(
                partial(train_model, n_estimators=10),
                ["X_train", "y_train"],
                "regressor",
                tags=[BIG_MACHINE],
            ),
            node(
                lambda regressor, features, target: {"rows": len(features)},
                ["regressor", "X_test", "y_test"],
                "metrics",
            ),
        ]
    )
