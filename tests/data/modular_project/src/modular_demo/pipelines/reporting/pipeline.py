from __future__ import annotations

from kedro.pipeline import Pipeline, node


def compare(active: dict[str, float], candidate: dict[str, float]) -> dict[str, float]:
    return {"gain": candidate["score"] - active["score"]}


def create_pipeline(**kwargs: object) -> Pipeline:
    return Pipeline(
        [
            node(compare, ["active_metrics", "candidate_metrics"], "comparison", name="compare"),
            node(lambda comparison: comparison, "comparison", "published"),
        ]
    )
