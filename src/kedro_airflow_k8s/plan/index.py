"""The pipeline as integer-indexed graph: which node must run before which, and through which data.

The edges are Kedro's: a node depends on the producer of each dataset it reads, where the forms
of a transcoded dataset (``table@spark``, ``table@pandas``) are one dataset, and every dependency
``Pipeline.node_dependencies`` lists is kept even when no dataset name explains it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from kedro_airflow_k8s.errors import PlanError
from kedro_airflow_k8s.plan.graph import topological_order
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, NodeSpec, PipelineSpec


class Edge(NamedTuple):
    """Node ``source`` runs before node ``target`` (a tuple: cheap).

    ``target`` reads ``dataset`` and ``source`` writes ``written``: the same name, or two forms
    of one transcoded dataset. Both are empty for a dependency Kedro reports that no dataset
    name explains.
    """

    source: int
    target: int
    dataset: str
    written: str


class PipelineIndex(NamedTuple):
    """Nodes in a topological order (Kedro's order where it is one) and the edges between them,
    in the order of their target node (and of its inputs)."""

    nodes: tuple[NodeSpec, ...]
    edges: tuple[Edge, ...]


def dataset_spec(name: str, datasets: Mapping[str, DatasetSpec]) -> DatasetSpec:
    """The catalog view of a dataset; a name the catalog does not know lives in memory."""
    spec = datasets.get(name)
    if spec is not None:
        return spec
    if name == "parameters" or name.startswith("params:"):
        return DatasetSpec(name=name, source=DatasetSource.PARAMS)
    return DatasetSpec(name=name, source=DatasetSource.NONE)


def index_pipeline(pipeline: PipelineSpec) -> PipelineIndex:
    """Index ``pipeline``; duplicate node names, datasets with two producers and cycles are
    errors."""
    nodes = pipeline.nodes
    position = _positions(pipeline)
    producer = _producers(nodes, pipeline.name, pipeline.transcoded)
    edges = _edges(pipeline, position, producer)
    if all(edge.source < edge.target for edge in edges):
        return PipelineIndex(nodes=nodes, edges=tuple(edges))
    heads: list[list[int]] = [[] for _ in nodes]
    for edge in edges:
        heads[edge.source].append(edge.target)
    order = topological_order(heads, range(len(nodes)))
    if len(order) < len(nodes):
        raise PlanError(f"pipeline {pipeline.name!r} has a cycle between its nodes' datasets")
    moved = [0] * len(nodes)
    for new, old in enumerate(order):
        moved[old] = new
    renumbered = [Edge(moved[e.source], moved[e.target], e.dataset, e.written) for e in edges]
    renumbered.sort(key=lambda edge: edge.target)  # stable: each node's inputs keep their order
    return PipelineIndex(nodes=tuple(nodes[old] for old in order), edges=tuple(renumbered))


def _positions(pipeline: PipelineSpec) -> dict[str, int]:
    position: dict[str, int] = {}
    for i, node in enumerate(pipeline.nodes):
        if node.name in position:
            raise PlanError(
                f"pipeline {pipeline.name!r} has two nodes named {node.name!r}: "
                "node names must be unique"
            )
        position[node.name] = i
    return position


def _producers(
    nodes: tuple[NodeSpec, ...], pipeline: str, transcoded: Mapping[str, str]
) -> dict[str, tuple[int, str]]:
    """Each dataset's producing node and the name it writes the dataset under (``transcoded``:
    the dataset of each transcoded form, see :class:`PipelineSpec`)."""
    producer: dict[str, tuple[int, str]] = {}
    for position, node in enumerate(nodes):
        for name in node.outputs:
            dataset = transcoded.get(name, name)
            if dataset in producer:
                other = nodes[producer[dataset][0]].name
                raise PlanError(
                    f"dataset {dataset!r} is an output of both node {other!r} and node "
                    f"{node.name!r} in pipeline {pipeline!r}: a dataset can have only one "
                    "producer"
                )
            producer[dataset] = (position, name)
    return producer


def _edges(
    pipeline: PipelineSpec,
    position: Mapping[str, int],
    producer: Mapping[str, tuple[int, str]],
) -> list[Edge]:
    """The data edges of every node, then the dependencies Kedro adds that no data edge has."""
    dependencies, transcoded = pipeline.dependencies, pipeline.transcoded
    edges: list[Edge] = []
    for target, node in enumerate(pipeline.nodes):
        linked: set[int] = set()
        for name in dict.fromkeys(node.inputs):
            found = producer.get(transcoded.get(name, name))
            if found is not None:
                edges.append(Edge(found[0], target, name, found[1]))
                linked.add(found[0])
        if dependencies is None:
            continue
        for parent in dependencies.get(node.name, ()):
            source = position.get(parent)
            if source is None:
                raise PlanError(
                    f"node {node.name!r} of pipeline {pipeline.name!r} depends on node "
                    f"{parent!r}, which is not in the pipeline"
                )
            if source not in linked:
                edges.append(Edge(source, target, "", ""))
                linked.add(source)
    return edges
