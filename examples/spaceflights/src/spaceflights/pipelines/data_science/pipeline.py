"""The data_science pipeline.

One modular pipeline (split -> train -> evaluate) is instantiated twice under
the Kedro namespaces ``active_modelling_pipeline`` and
``candidate_modelling_pipeline``. Each instance reads its own
``params:<namespace>.model_options`` and writes ``<namespace>.*`` datasets
(resolved by the dataset factories in conf/base/catalog.yml); both share the
un-namespaced ``model_input_table`` input. ``train_model_node`` is tagged
``resources.gpu`` in both instances.
"""

from kedro.pipeline import Pipeline, node

from .nodes import evaluate_model, split_data, train_model

NAMESPACES = ("active_modelling_pipeline", "candidate_modelling_pipeline")


def _modelling_pipeline() -> Pipeline:
    return Pipeline(
        [
            node(
                func=split_data,
                inputs=["model_input_table", "params:model_options"],
                outputs=["X_train", "X_test", "y_train", "y_test"],
                name="split_data_node",
            ),
            node(
                func=train_model,
                inputs=["X_train", "y_train"],
                outputs="regressor",
                name="train_model_node",
                tags=["resources.gpu"],
            ),
            node(
                func=evaluate_model,
                inputs=["regressor", "X_test", "y_test"],
                outputs="metrics",
                name="evaluate_model_node",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    template = _modelling_pipeline()
    return sum(
        (
            Pipeline(template, inputs="model_input_table", namespace=namespace)
            for namespace in NAMESPACES
        ),
        Pipeline([]),
    )
