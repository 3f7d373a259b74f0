"""The DAG tags the plugin writes and reads back: one contract for render and operate.

Render tags every generated DAG with ``key:value`` tags (below); ``list-pipelines`` finds the
plugin's DAGs by the first one and shows the others; ``run-once`` marks each build with a tag of
its own to tell it from earlier versions of the same DAG.

=================================== ============================================================
``generated_with_kedro_airflow_k8s:<version>``  made by this plugin (the plugin's version)
``commit_sha:<sha>``                 the project's git commit (``unknown`` outside git)
``experiment_name:<name>``           the MLflow experiment
``kedro_pipeline:<name>``            the Kedro pipeline
``kedro_env:<env>``                  the Kedro configuration environment
``kedro_airflow_k8s_build:<stamp>``  one build of ``run-once`` (unique)
=================================== ============================================================

Airflow refuses tags longer than 100 characters: a longer one is cut and ends with a short hash
of the whole text, so two long values stay apart (its value then reads back cut).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from typing import NamedTuple

from kedro_airflow_k8s.names import marked

GENERATED = "generated_with_kedro_airflow_k8s"
COMMIT = "commit_sha"
EXPERIMENT = "experiment_name"
PIPELINE = "kedro_pipeline"
ENV = "kedro_env"
BUILD = "kedro_airflow_k8s_build"
MAX_LENGTH = 100  # Airflow rejects longer DAG tags


def fit(text: str) -> str:
    """A tag as Airflow accepts it: cut, with a hash of the whole, when too long."""
    return text if len(text) <= MAX_LENGTH else marked(text, text, MAX_LENGTH, trim=False)


def tag(key: str, value: str) -> str:
    """``key:value``, cut to what Airflow accepts (see the module docstring)."""
    return fit(f"{key}:{value}")


def generated_tags(
    *, version: str, commit: str, experiment: str, pipeline: str, env: str
) -> list[str]:
    """The tags of a generated DAG, in the order they are written."""
    return [
        tag(GENERATED, version),
        tag(COMMIT, commit),
        tag(EXPERIMENT, experiment),
        tag(PIPELINE, pipeline),
        tag(ENV, env),
    ]


def new_build_tag() -> str:
    """A tag unique to one build, so ``run-once`` can tell this version from earlier ones."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return tag(BUILD, f"{stamp}-{secrets.token_hex(4)}")


def value_of(tags: Iterable[str], key: str) -> str | None:
    """The value of the first ``key:...`` tag, or None."""
    prefix = f"{key}:"
    for one in tags:
        if one.startswith(prefix):
            return one[len(prefix) :]
    return None


def is_generated(tags: Iterable[str]) -> bool:
    """Whether the tags are those of a DAG this plugin generated."""
    return value_of(tags, GENERATED) is not None


class Origin(NamedTuple):
    """What the tags of a generated DAG say about where it comes from."""

    version: str
    pipeline: str | None
    env: str | None
    commit: str | None


def origin(tags: Iterable[str]) -> Origin | None:
    """The origin of a generated DAG, or None for a DAG the plugin did not make."""
    names = list(tags)
    version = value_of(names, GENERATED)
    if version is None:
        return None
    return Origin(
        version=version,
        pipeline=value_of(names, PIPELINE),
        env=value_of(names, ENV),
        commit=value_of(names, COMMIT),
    )
