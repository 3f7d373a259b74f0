"""The data_processing pipeline.

Both preprocessing nodes carry the ``airflow.preprocessing`` tag, which
kedro-airflow-k8s uses to group them into a single Airflow task.
``create_model_input_table_node`` is tagged ``resources.high_memory`` so the
plugin can give its pod a larger memory request.
"""

from kedro.pipeline import Pipeline, node

from .nodes import create_model_input_table, preprocess_companies, preprocess_shuttles


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                func=preprocess_companies,
                inputs="companies",
                outputs="preprocessed_companies",
                name="preprocess_companies_node",
                tags=["airflow.preprocessing"],
            ),
            node(
                func=preprocess_shuttles,
                inputs="shuttles",
                outputs="preprocessed_shuttles",
                name="preprocess_shuttles_node",
                tags=["airflow.preprocessing"],
            ),
            node(
                func=create_model_input_table,
                inputs=["preprocessed_shuttles", "preprocessed_companies", "reviews"],
                outputs="model_input_table",
                name="create_model_input_table_node",
                tags=["resources.high_memory"],
            ),
        ]
    )
