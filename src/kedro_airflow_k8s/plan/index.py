"""The pipeline as integer-indexed graph: who produces and who reads each dataset."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from kedro_airflow_k8s.errors import PlanError
from kedro_airflow_k8s.plan.graph import topological_order
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, NodeSpec, PipelineSpec


class Edge(NamedTuple):
    """Node ``source`` writes ``dataset`` and node ``target`` reads it (a tuple: cheap)."""

    source: int
    target: int
    dataset: str


@dataclass(frozen=True)
class PipelineIndex:
    """Nodes in a topological order (Kedro's order where it is one) and the data edges."""

    nodes: tuple[NodeSpec, ...]
    producer: Mapping[str, int]
    edges: tuple[Edge, ...]
    successors: tuple[tuple[int, ...], ...]  # distinct node successors, ascending


def dataset_spec(name: str, datasets: Mapping[str, DatasetSpec]) -> DatasetSpec:
    """The catalog view of a dataset; a name the catalog does not know lives in memory."""
    spec = datasets.get(name)
    if spec is not None:
        return spec
    if name == "parameters" or name.startswith("params:"):
        return DatasetSpec(name=name, source=DatasetSource.PARAMS)
    return DatasetSpec(name=name, source=DatasetSource.NONE)


def index_pipeline(pipeline: PipelineSpec) -> PipelineIndex:
    """Index ``pipeline``; duplicate node names or datasets with two producers are errors."""
    nodes = _in_topological_order(pipeline)
    producer = _producers(nodes, pipeline.name)
    edges = tuple(
        Edge(producer[dataset], target, dataset)
        for target, node in enumerate(nodes)
        for dataset in dict.fromkeys(node.inputs)
        if dataset in producer
    )
    heads: list[set[int]] = [set() for _ in nodes]
    for edge in edges:
        heads[edge.source].add(edge.target)
    return PipelineIndex(
        nodes=nodes,
        producer=producer,
        edges=edges,
        successors=tuple(tuple(sorted(h)) for h in heads),
    )


def _producers(nodes: tuple[NodeSpec, ...], pipeline: str) -> dict[str, int]:
    producer: dict[str, int] = {}
    for position, node in enumerate(nodes):
        for dataset in node.outputs:
            if dataset in producer:
                other = nodes[producer[dataset]].name
                raise PlanError(
                    f"dataset {dataset!r} is an output of both node {other!r} and node "
                    f"{node.name!r} in pipeline {pipeline!r}: a dataset can have only one "
                    "producer"
                )
            producer[dataset] = position
    return producer


def _in_topological_order(pipeline: PipelineSpec) -> tuple[NodeSpec, ...]:
    """The nodes ordered so that producers come first, keeping the given order where it can."""
    nodes = pipeline.nodes
    position: dict[str, int] = {}
    for i, node in enumerate(nodes):
        if node.name in position:
            raise PlanError(
                f"pipeline {pipeline.name!r} has two nodes named {node.name!r}: "
                "node names must be unique"
            )
        position[node.name] = i
    producer = _producers(nodes, pipeline.name)
    heads: list[set[int]] = [set() for _ in nodes]
    in_order = True
    for i, node in enumerate(nodes):
        for dataset in node.inputs:
            source = producer.get(dataset)
            if source is not None:
                heads[source].add(i)
                in_order = in_order and source < i
    if in_order:
        return nodes
    order = topological_order([sorted(h) for h in heads], range(len(nodes)))
    if len(order) < len(nodes):
        raise PlanError(f"pipeline {pipeline.name!r} has a cycle between its nodes' datasets")
    return tuple(nodes[i] for i in order)
