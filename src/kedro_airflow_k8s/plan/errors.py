"""Plan errors that also carry their findings as data (for tests and tools; users read the text)."""

from __future__ import annotations

from typing import NamedTuple

from kedro_airflow_k8s.errors import PlanError
from kedro_airflow_k8s.yaml_text import flow_scalar, omegaconf_literal


class GroupingCycleError(PlanError):
    """Group tags would make the task graph cyclic.

    ``cycle`` lists the data edges of the cycle as (producer node, consumer node) pairs: each
    consumer runs in the same task as the producer of the next pair, and the last consumer in
    the same task as the first producer.
    """

    def __init__(self, message: str, cycle: tuple[tuple[str, str], ...]) -> None:
        super().__init__(message)
        self.cycle = cycle


class Crossing(NamedTuple):
    """An in-memory dataset that one task writes and another task reads."""

    dataset: str
    why: str  # "no catalog entry" or the dataset type
    producer_task: str
    producer_node: str
    consumer_task: str
    consumer_node: str


class MemoryCrossingError(PlanError):
    """In-memory datasets would have to travel between pods."""

    def __init__(self, message: str, crossings: tuple[Crossing, ...]) -> None:
        super().__init__(message)
        self.crossings = crossings


# The catch-all dataset factory of a hint that covers several datasets.
CATCH_ALL = "{default}"
HINT_FOLDER = "data/02_intermediate"


def catalog_entry_hint(dataset: str | None) -> str:
    """One line for catalog.yml that persists ``dataset`` as a pickle (``None``, or a name Kedro
    would read as a factory pattern: a catch-all factory for every dataset without an entry);
    valid YAML as printed, read back exactly by Kedro's OmegaConf loader."""
    name = dataset if dataset is not None and "{" not in dataset else CATCH_ALL
    key = flow_scalar(omegaconf_literal(name))
    path = flow_scalar(omegaconf_literal(f"{HINT_FOLDER}/{name}.pickle"))
    return f"{key}: {{type: pickle.PickleDataset, filepath: {path}}}"
