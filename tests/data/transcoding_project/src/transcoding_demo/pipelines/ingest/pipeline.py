from __future__ import annotations

from kedro.pipeline import Pipeline, node

from .nodes import join_tables, preprocess_companies, preprocess_reviews


def create_pipeline(**kwargs: object) -> Pipeline:
    return Pipeline(
        [
            node(
                preprocess_companies,
                "companies",
                "preprocessed_companies@pandas",
                name="preprocess_companies_node",
            ),
            node(
                preprocess_reviews,
                "reviews@spark",
                "preprocessed_reviews@spark",
                name="preprocess_reviews_node",
            ),
            node(
                join_tables,
                ["preprocessed_companies@spark", "preprocessed_reviews@spark"],
                "model_input_table@spark",
                name="join_tables_node",
            ),
        ]
    )
