"""One modelling pipeline, reused under the namespaces `active` and `candidate`."""

from __future__ import annotations

from functools import partial

from kedro.pipeline import Pipeline, node, pipeline

from modular_demo.tags import TRAINING

from .nodes import check, evaluate, split, train


def _template() -> Pipeline:
    evaluation = pipeline(
        [
            node(evaluate, ["regressor", "test_set"], "metrics", name="evaluate_node"),
            pipeline(
                [node(check, ["metrics", "params:diagnostics"], "passed", name="check_node")],
                namespace="diagnostics",
                inputs={"metrics"},
            ),
        ],
        namespace="evaluation",
        inputs={"regressor", "test_set"},
        outputs={"metrics"},
    )
    return Pipeline(
        [
            node(split, ["model_input@pandas2", "params:options"], ["train_set", "test_set"]),
            node(partial(train, seed=7), "train_set", "regressor", tags=TRAINING),
            evaluation,
        ]
    )


def create_pipeline(**kwargs: object) -> Pipeline:
    template = _template()
    return pipeline(
        template,
        namespace="active",
        inputs={"model_input": "model_input"},
        outputs={"metrics": "active_metrics"},
        parameters={"options": "active_options"},
    ) + pipeline(
        template,
        namespace="candidate",
        inputs={"model_input"},
        outputs={"metrics": "candidate_metrics"},
        parameters={"params:options": "params:candidate_options"},
    )
