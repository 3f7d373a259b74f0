"""The graph algorithms behind fusion, checked against brute force on random graphs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_airflow_k8s.plan.graph import (
    DisjointSets,
    shortest_cycle_through,
    strongly_connected_components,
    topological_order,
)


@st.composite
def digraphs(draw: st.DrawFn) -> list[list[int]]:
    size = draw(st.integers(min_value=1, max_value=12))
    return [sorted(set(draw(st.lists(st.integers(0, size - 1), max_size=4)))) for _ in range(size)]


def reachable(successors: list[list[int]]) -> list[set[int]]:
    result = []
    for start in range(len(successors)):
        seen, stack = {start}, [start]
        while stack:
            for head in successors[stack.pop()]:
                if head not in seen:
                    seen.add(head)
                    stack.append(head)
        result.append(seen)
    return result


@settings(max_examples=300, deadline=None)
@given(digraphs())
def test_components_are_mutual_reachability(successors: list[list[int]]) -> None:
    component = strongly_connected_components(successors)
    reach = reachable(successors)
    for a in range(len(successors)):
        for b in range(len(successors)):
            mutual = b in reach[a] and a in reach[b]
            assert (component[a] == component[b]) == mutual
    for tail, heads in enumerate(successors):
        for head in heads:
            assert component[tail] >= component[head], "reverse topological numbering"


@settings(max_examples=300, deadline=None)
@given(digraphs())
def test_shortest_cycle_is_a_cycle_when_one_exists(successors: list[list[int]]) -> None:
    reach = reachable(successors)
    for start in range(len(successors)):
        cycle = shortest_cycle_through(start, successors, lambda _: True)
        on_a_cycle = any(start in reach[head] for head in successors[start])
        assert bool(cycle) == on_a_cycle
        if cycle:
            assert cycle[0] == start and len(set(cycle)) == len(cycle)
            for tail, head in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
                assert head in successors[tail]


@settings(max_examples=300, deadline=None)
@given(digraphs())
def test_topological_order_or_a_cycle(successors: list[list[int]]) -> None:
    order = topological_order(successors, range(len(successors)))
    position = {v: i for i, v in enumerate(order)}
    has_cycle = any(
        v in reachable(successors)[h] for v in range(len(successors)) for h in successors[v]
    )
    assert (len(order) < len(successors)) == has_cycle
    if not has_cycle:
        for tail, heads in enumerate(successors):
            for head in heads:
                assert position[tail] < position[head]


def test_topological_order_prefers_low_priority_among_ready_vertices() -> None:
    assert topological_order([[], [0], []], [5, 9, 1]) == [2, 1, 0]


def test_deep_chains_do_not_recurse() -> None:
    size = 50_000
    chain = [[v + 1] for v in range(size - 1)] + [[0]]
    assert len(set(strongly_connected_components(chain))) == 1
    assert len(shortest_cycle_through(0, chain, lambda _: True)) == size


def test_disjoint_sets() -> None:
    sets = DisjointSets(5)
    sets.union(0, 1)
    sets.union(3, 4)
    sets.union(1, 4)
    assert len({sets.find(v) for v in (0, 1, 3, 4)}) == 1
    assert sets.find(2) == 2
