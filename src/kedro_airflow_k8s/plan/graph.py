"""Small graph algorithms on integer vertices, all linear (or ``n log n`` for ordered output).

Vertices are ``0..n-1``; ``successors[v]`` lists the heads of the edges leaving ``v``. Everything
is iterative, so deep pipelines (long chains of 10,000 nodes) do not hit Python's recursion limit.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Sequence


class DisjointSets:
    """Union-find with path halving and union by size."""

    def __init__(self, size: int) -> None:
        self._parent = list(range(size))
        self._size = [1] * size

    def find(self, item: int) -> int:
        parent = self._parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(self, a: int, b: int) -> int:
        """Join the sets of ``a`` and ``b``; return the root of the joined set."""
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return root_a
        if self._size[root_a] < self._size[root_b]:
            root_a, root_b = root_b, root_a
        self._parent[root_b] = root_a
        self._size[root_a] += self._size[root_b]
        return root_a


def strongly_connected_components(successors: Sequence[Sequence[int]]) -> list[int]:
    """The component number of every vertex (Tarjan's algorithm, iterative).

    Components are numbered in reverse topological order of the condensation: an edge between
    two components always goes from a higher number to a lower one.
    """
    n = len(successors)
    unvisited = -1
    index = [unvisited] * n
    low = [0] * n
    component = [unvisited] * n
    on_stack = [False] * n
    stack: list[int] = []
    counter = 0
    components = 0
    for root in range(n):
        if index[root] != unvisited:
            continue
        work: list[tuple[int, int]] = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            vertex, next_edge = work[-1]
            heads = successors[vertex]
            if next_edge < len(heads):
                work[-1] = (vertex, next_edge + 1)
                head = heads[next_edge]
                if index[head] == unvisited:
                    index[head] = low[head] = counter
                    counter += 1
                    stack.append(head)
                    on_stack[head] = True
                    work.append((head, 0))
                elif on_stack[head] and index[head] < low[vertex]:
                    low[vertex] = index[head]
                continue
            work.pop()
            if work and low[vertex] < low[work[-1][0]]:
                low[work[-1][0]] = low[vertex]
            if low[vertex] == index[vertex]:
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component[member] = components
                    if member == vertex:
                        break
                components += 1
    return component


def shortest_cycle_through(
    start: int, successors: Sequence[Sequence[int]], allowed: Callable[[int], bool]
) -> list[int]:
    """The vertices of a shortest cycle through ``start`` using only ``allowed`` vertices.

    Returns ``[start, v1, ..., vk]`` (the edge ``vk -> start`` closes it), or ``[]`` when there
    is no such cycle. Breadth-first, so linear in the edges it looks at.
    """
    came_from: dict[int, int] = {start: start}
    queue = deque([start])
    while queue:
        vertex = queue.popleft()
        for head in successors[vertex]:
            if head == start:
                path = [vertex]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return path[::-1]
            if head not in came_from and allowed(head):
                came_from[head] = vertex
                queue.append(head)
    return []


def kahn_start(
    successors: Sequence[Sequence[int]], priority: Sequence[int]
) -> tuple[list[int], list[tuple[int, int]]]:
    """The start of Kahn's algorithm: every vertex's in-degree, and the vertices without
    predecessors as a heap of ``(priority, vertex)``."""
    indegree = [0] * len(successors)
    for heads in successors:
        for head in heads:
            indegree[head] += 1
    ready = [(priority[v], v) for v, degree in enumerate(indegree) if degree == 0]
    heapq.heapify(ready)
    return indegree, ready


def topological_order(successors: Sequence[Sequence[int]], priority: Sequence[int]) -> list[int]:
    """Kahn's algorithm; among ready vertices the one with the lowest ``priority`` goes first.

    Returns fewer than ``len(successors)`` vertices when the graph has a cycle.
    """
    indegree, ready = kahn_start(successors, priority)
    order: list[int] = []
    while ready:
        _, vertex = heapq.heappop(ready)
        order.append(vertex)
        for head in successors[vertex]:
            indegree[head] -= 1
            if indegree[head] == 0:
                heapq.heappush(ready, (priority[head], head))
    return order
