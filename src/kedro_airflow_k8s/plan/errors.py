"""Plan errors that also carry their findings as data (for tests and tools; users read the text)."""

from __future__ import annotations

from dataclasses import dataclass

from kedro_airflow_k8s.errors import PlanError


class GroupingCycleError(PlanError):
    """Group tags would make the task graph cyclic.

    ``cycle`` lists the data edges of the cycle as (producer node, consumer node) pairs: each
    consumer runs in the same task as the producer of the next pair, and the last consumer in
    the same task as the first producer.
    """

    def __init__(self, message: str, cycle: tuple[tuple[str, str], ...]) -> None:
        super().__init__(message)
        self.cycle = cycle


@dataclass(frozen=True)
class Crossing:
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
