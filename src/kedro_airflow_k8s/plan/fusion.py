"""Which nodes run together: the partition of a pipeline's nodes into tasks.

Fusion runs in stages; each stage joins units (sets of nodes) of the previous one and is linear
in nodes + edges:

1. **tags** - the user's ``airflow.<group>`` tags. A group whose nodes ask for different
   resource profiles or pod templates is an error, and so is a grouping that makes the task
   graph cyclic (the error names the nodes on one such cycle).
2. **memory** (``group_by: memory``) - the producer and consumers of each in-memory dataset.
3. **spark** (``group_spark_nodes``) - spark nodes linked by a dataset.
4. **namespace** (``group_by: namespace``) - the untagged nodes of each top-level namespace;
   then, where a namespace could not become one task (its nodes ask for different profiles or
   templates, or a tag group sits on a path between them), its units that follow each other in
   a topological order of the task graph and ask alike are joined: runs of an order that keeps
   a namespace's units together as long as it can. Joining consecutive units of a topological
   order cannot make a cycle, since every edge still goes forward in that order.
5. **chain** (``group_by: chain``) - linear chains of the task graph: a task whose only
   downstream task is the next one, when that one's only upstream task is it, and both ask
   for the same resource profile and pod template, neither is a tag group, a namespace task
   or a spark task. Contracting such an edge cannot make a cycle (the only path out of the
   first task goes through the second), and the longest chain of pods a run waits for never
   grows: every path through one of the two tasks runs through both, now as one pod.

A join that would put two tag groups, two resource profiles or two pod templates into one task
is refused. Joins can create cycles (spark A -> B -> C -> spark D with A -> D): after each
automatic stage the cycles are found as strongly connected components of the task graph and
resolved. Every node on a path between two members of a group joins it (the component becomes
one task; this is also how a default node that reads from and feeds a spark group joins it),
unless that would mix tag groups, profiles or templates: then the stage's joins inside that
component are undone, back to the previous stage's units.

Why the result is acyclic: merging every strongly connected component gives the condensation,
which is acyclic. Undoing a component restores the previous stage's units inside it; those were
acyclic among themselves, and every edge leaving the component still follows the condensation.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from kedro_airflow_k8s.errors import PlanError
from kedro_airflow_k8s.plan.errors import GroupingCycleError
from kedro_airflow_k8s.plan.graph import (
    DisjointSets,
    kahn_start,
    shortest_cycle_through,
    strongly_connected_components,
)
from kedro_airflow_k8s.plan.index import PipelineIndex
from kedro_airflow_k8s.plan.model import GroupBy, PlanOptions
from kedro_airflow_k8s.plan.traits import DEFAULT, NodeTraits

# Why nodes share a task (bit flags, combined per task).
TAG, SPARK, MEMORY, NAMESPACE, PATH, CHAIN = 1, 2, 4, 8, 16, 32
REASON_NAMES: tuple[tuple[int, str], ...] = (
    (TAG, "tag"),
    (SPARK, "spark"),
    (MEMORY, "memory"),
    (NAMESPACE, "namespace"),
    (CHAIN, "chain"),
    (PATH, "path"),
)
_SHOWN = 5  # node names listed in a warning

Pair = tuple[int, int]
Refusal = Callable[[Pair, str], None]


class Partition(NamedTuple):
    """Nodes (by index) split into units; units are numbered in order of their first node."""

    unit_of: tuple[int, ...]
    members: tuple[tuple[int, ...], ...]  # ascending node indices per unit
    reasons: tuple[int, ...]  # REASON bit flags per unit
    warnings: tuple[str, ...]
    memory_conflicts: tuple[str, ...]  # why group_by: memory could not fuse some nodes


def reason_names(flags: int) -> tuple[str, ...]:
    return tuple(name for flag, name in REASON_NAMES if flags & flag)


class _Units(NamedTuple):
    """A partition during fusion, with what each unit asks for; units are numbered in order of
    their first node."""

    unit_of: list[int]  # node -> unit
    asks: dict[str, list[str | None]]  # "group"/"profile"/"template" -> value per unit
    reasons: list[int]  # per unit

    @property
    def size(self) -> int:
        return len(self.reasons)


_ASKS = (("tag groups", "group"), ("resource profiles", "profile"), ("pod templates", "template"))


class _Merger:
    """Union-find over the units of a :class:`_Units`, merging what the units ask for."""

    def __init__(self, units: _Units) -> None:
        self.units = units
        self.sets = DisjointSets(units.size)
        self.asks = {attribute: list(values) for attribute, values in units.asks.items()}
        self.reasons = list(units.reasons)
        self.unions = 0

    def conflict(self, roots: Iterable[int]) -> str | None:
        """Why these roots cannot share a task (e.g. "tag groups 'a', 'b'"), or None."""
        roots = list(roots)
        for what, attribute in _ASKS:
            values = self.asks[attribute]
            distinct = sorted({value for r in roots if (value := values[r]) is not None})
            if len(distinct) > 1:
                return f"{what} {', '.join(map(repr, distinct))}"
        return None

    def join(self, a: int, b: int, reason: int) -> str | None:
        """Join units ``a`` and ``b``; return the conflict instead when they cannot share."""
        root_a, root_b = self.sets.find(a), self.sets.find(b)
        if root_a != root_b:
            conflict = self.conflict((root_a, root_b))
            if conflict is not None:
                return conflict
            root = self.sets.union(root_a, root_b)
            self.unions += 1
            other = root_b if root == root_a else root_a
            for values in self.asks.values():
                if values[root] is None:
                    values[root] = values[other]
            self.reasons[root] |= self.reasons[other]
        self.reasons[self.sets.find(a)] |= reason
        return None

    def units_by_key(self, keys: Sequence[int], fallback: _Units | None = None) -> _Units:
        """New units from a key per node: a root of this merger, or ``size + unit`` for a
        unit of ``fallback`` (the units a stage falls back to)."""
        numbers: dict[int, int] = {}
        unit_of = [numbers.setdefault(key, len(numbers)) for key in keys]
        offset = self.units.size
        asks: dict[str, list[str | None]] = {attribute: [] for attribute in self.asks}
        reasons: list[int] = []
        for key in numbers:  # in unit number order
            source: _Units | _Merger = self
            if key >= offset and fallback is not None:
                source, key = fallback, key - offset
            for attribute, values in asks.items():
                values.append(source.asks[attribute][key])
            reasons.append(source.reasons[key])
        return _Units(unit_of, asks, reasons)

    def merged(self) -> _Units:
        if self.unions == 0:  # every unit still its own root: the units as they were numbered
            asks = {attribute: list(values) for attribute, values in self.asks.items()}
            return _Units(list(self.units.unit_of), asks, list(self.reasons))
        return self.units_by_key([self.sets.find(u) for u in self.units.unit_of])


def partition_nodes(
    index: PipelineIndex,
    traits: Sequence[NodeTraits],
    memory_edges: Sequence[bool],
    options: PlanOptions,
) -> Partition:
    """Split the nodes into tasks (``memory_edges[i]``: edge ``i`` carries in-memory data)."""
    fusion = _Fusion(index, traits, options)
    units = fusion.by_tags(_single_nodes(traits))
    if options.fuses(GroupBy.MEMORY):
        pairs = (
            (e.source, e.target)
            for e, in_memory in zip(index.edges, memory_edges, strict=True)
            if in_memory
        )
        units = fusion.stage(units, pairs, MEMORY, fusion.memory_refused)
    if options.group_spark_nodes:
        spark = [t.spark for t in traits]
        pairs = ((e.source, e.target) for e in index.edges if spark[e.source] and spark[e.target])
        units = fusion.stage(units, pairs, SPARK, fusion.warn_refused("spark nodes"))
    if options.fuses(GroupBy.NAMESPACE):
        units = fusion.stage(units, _namespace_pairs(traits), NAMESPACE, fusion.namespace_refused)
        units = fusion.by_namespace_runs(units)
    if options.fuses(GroupBy.CHAIN):
        units = fusion.by_chains(units)
    members: list[list[int]] = [[] for _ in range(units.size)]
    for v, unit in enumerate(units.unit_of):
        members[unit].append(v)
    return Partition(
        unit_of=tuple(units.unit_of),
        members=tuple(tuple(m) for m in members),
        reasons=tuple(units.reasons),
        warnings=tuple(dict.fromkeys(fusion.warnings)),
        memory_conflicts=tuple(dict.fromkeys(fusion.memory_conflicts)),
    )


def _single_nodes(traits: Sequence[NodeTraits]) -> _Units:
    return _Units(
        unit_of=list(range(len(traits))),
        asks={
            "group": [t.group for t in traits],
            "profile": [t.profile for t in traits],
            "template": [t.template for t in traits],
        },
        reasons=[0] * len(traits),
    )


def _namespace_pairs(traits: Sequence[NodeTraits]) -> Iterable[Pair]:
    """Each untagged namespaced node with the first such node of its top-level namespace."""
    anchors: dict[str, int] = {}
    for v, trait in enumerate(traits):
        if trait.group is None and trait.namespace:
            yield anchors.setdefault(trait.namespace[0], v), v


def unit_successors(index: PipelineIndex, unit_of: Sequence[int], count: int) -> list[list[int]]:
    """The task graph: distinct successor units of every unit, in data-edge order."""
    heads: list[dict[int, None]] = [{} for _ in range(count)]
    for edge in index.edges:
        source, target = unit_of[edge.source], unit_of[edge.target]
        if source != target:
            heads[source][target] = None
    return [list(h) for h in heads]


def _components(successors: Sequence[Sequence[int]]) -> tuple[list[int], list[list[int]]]:
    """Component per unit and the units of each cyclic (multi-unit) component."""
    component = strongly_connected_components(successors)
    units_in: dict[int, list[int]] = defaultdict(list)
    for unit, c in enumerate(component):
        units_in[c].append(unit)
    return component, [units for units in units_in.values() if len(units) > 1]


class _Fusion:
    """The stages of fusion, with the messages they collect on the way."""

    def __init__(
        self, index: PipelineIndex, traits: Sequence[NodeTraits], options: PlanOptions
    ) -> None:
        self.index = index
        self.traits = traits
        self.options = options
        self.warnings: list[str] = []
        self.memory_conflicts: list[str] = []

    def names(self, nodes: Iterable[int]) -> str:
        listed = sorted(set(nodes))
        shown = _quoted([self.index.nodes[v].name for v in listed[:_SHOWN]])
        more = len(listed) - _SHOWN
        return shown + (f" and {more} more" if more > 0 else "")

    # -- messages for refused joins --------------------------------------------------------

    def warn_refused(self, what: str) -> Refusal:
        def refused(pair: Pair, conflict: str) -> None:
            self.warnings.append(
                f"{what} {self.names(pair)} stay in separate tasks: they have different {conflict}"
            )

        return refused

    def namespace_refused(self, pair: Pair, conflict: str) -> None:
        namespace = self.traits[pair[1]].namespace[0]
        self.warn_refused(f"in namespace {namespace!r}, nodes")(pair, conflict)

    def memory_refused(self, pair: Pair, conflict: str) -> None:
        self.memory_conflicts.append(f"nodes {self.names(pair)} have different {conflict}")

    # -- stage 1: tags ---------------------------------------------------------------------

    def by_tags(self, units: _Units) -> _Units:
        members: dict[str, list[int]] = defaultdict(list)
        for v, trait in enumerate(self.traits):
            if trait.group is not None:
                members[trait.group].append(v)
        merger = _Merger(units)
        for group, nodes in members.items():
            self._check_group_asks_alike(group, nodes)
            for v in nodes:
                merger.join(nodes[0], v, TAG)
        tagged = merger.merged()
        if any(len(nodes) > 1 for nodes in members.values()):
            self._fail_on_tag_cycle(tagged)
        return tagged

    def _check_group_asks_alike(self, group: str, nodes: Sequence[int]) -> None:
        options = self.options
        profile_tags = "/".join(
            p for p in (options.resources_tag_prefix, options.machine_tag_prefix) if p
        )
        for what, tag_hint, attribute in (
            ("resource profiles", profile_tags, "profile"),
            ("pod templates", options.k8s_template_tag_prefix, "template"),
        ):
            asked: dict[str, list[str]] = defaultdict(list)
            for v in nodes:
                value: str | None = getattr(self.traits[v], attribute)
                if value is not None:
                    asked[value].append(self.index.nodes[v].name)
            if len(asked) > 1:
                detail = " and ".join(
                    f"{value!r} ({'node' if len(names) == 1 else 'nodes'} {_quoted(names)})"
                    for value, names in sorted(asked.items())
                )
                raise PlanError(
                    f"tag group {self.options.group_tag_prefix}{group} asks for different "
                    f"{what}: {detail}; a task has only one, so give its nodes the same "
                    f"{tag_hint} tag"
                )

    def _fail_on_tag_cycle(self, units: _Units) -> None:
        successors = unit_successors(self.index, units.unit_of, units.size)
        component, cyclic = _components(successors)
        if not cyclic:
            return
        start = min(min(cyclic, key=min))  # the cycle through the earliest task possible
        cycle = shortest_cycle_through(
            start, successors, lambda u: component[u] == component[start]
        )
        raise self._cycle_error(cycle, units.unit_of)

    def _cycle_error(self, cycle: Sequence[int], unit_of: Sequence[int]) -> GroupingCycleError:
        hops = list(zip(cycle, [*cycle[1:], cycle[0]], strict=True))
        wanted = set(hops)
        witness: dict[Pair, Pair] = {}
        for edge in self.index.edges:
            hop = (unit_of[edge.source], unit_of[edge.target])
            if hop in wanted and hop not in witness:
                witness[hop] = (edge.source, edge.target)
        edges = [witness[hop] for hop in hops]
        nodes = self.index.nodes
        named = tuple((nodes[a].name, nodes[b].name) for a, b in edges)
        return GroupingCycleError(self._cycle_message(edges), named)

    def _cycle_message(self, edges: Sequence[Pair]) -> str:
        """``edges`` = [(x1, y2), (x2, y3), ..., (xk, y1)], yi and xi in one task."""
        prefix = self.options.group_tag_prefix

        def label(v: int) -> str:
            group = self.traits[v].group
            name = repr(self.index.nodes[v].name)
            return f"{name} [{prefix}{group}]" if group is not None else name

        steps = [label(edges[0][0])]
        on_cycle = [edges[0][0]]
        for (_, entry), (exit_, _) in zip(edges, [*edges[1:], edges[0]], strict=True):
            steps.append(f"-> {label(entry)}")
            on_cycle.append(entry)
            if exit_ != entry:
                steps.append(f"~ {label(exit_)}")
                on_cycle.append(exit_)
        names = _quoted([self.index.nodes[v].name for v in dict.fromkeys(on_cycle)])
        return (
            f"grouping by tags makes a cycle of tasks: {' '.join(steps)} "
            "(-> feeds data to, ~ runs in the same task as); "
            f"nodes on the cycle: {names}. A task cannot run both before and after another "
            f"one: give the nodes in between the same {prefix}<group> tag, or remove a group tag"
        )

    # -- stage 4, second part: what is left of a namespace, in runs --------------------------

    def by_namespace_runs(self, units: _Units) -> _Units:
        """Join the units of one namespace that ask alike and follow each other in a
        topological order that prefers, among the units ready, one like the last."""
        key = self._namespace_keys(units)
        if len(set(key) - {None}) == sum(k is not None for k in key):
            return units  # one unit per namespace and ask: nothing to join
        successors = unit_successors(self.index, units.unit_of, units.size)
        first = [len(units.unit_of)] * units.size
        for v, unit in enumerate(units.unit_of):
            first[unit] = min(first[unit], v)
        merger = _Merger(units)
        previous: int | None = None
        for unit in _sticky_order(successors, key, first):
            if previous is not None and key[unit] is not None and key[unit] == key[previous]:
                merger.join(previous, unit, NAMESPACE)
            previous = unit
        return merger.merged()

    def _namespace_keys(self, units: _Units) -> list[tuple[str | None, ...] | None]:
        """Per unit: (top-level namespace, profile, template) when it is untagged, runs no
        spark node and all its nodes share one top-level namespace; else None."""
        namespace: list[str | None] = [None] * units.size
        eligible = [units.asks["group"][u] is None for u in range(units.size)]
        for v, unit in enumerate(units.unit_of):
            trait = self.traits[v]
            top = trait.namespace[0] if trait.namespace else None
            if trait.spark or top is None or namespace[unit] not in (None, top):
                eligible[unit] = False
            namespace[unit] = top
        return [
            (
                namespace[u],
                _explicit(units.asks["profile"][u]),
                _explicit(units.asks["template"][u]),
            )
            if eligible[u]
            else None
            for u in range(units.size)
        ]

    # -- stage 5: chains -------------------------------------------------------------------

    def by_chains(self, units: _Units) -> _Units:
        """Contract every edge of the task graph that is the only way out of its tail and the
        only way into its head (see the module docstring); the edges so chosen form disjoint
        paths, so contracting them all at once gives the same as one at a time."""
        spark = [False] * units.size
        for v, unit in enumerate(units.unit_of):
            spark[unit] = spark[unit] or self.traits[v].spark
        named = TAG | NAMESPACE  # tasks that stand for a tag group or a namespace
        groups, reasons = units.asks["group"], units.reasons
        can_chain = [
            not spark[u] and groups[u] is None and not reasons[u] & named for u in range(units.size)
        ]
        profiles, templates = units.asks["profile"], units.asks["template"]
        pod = [(_explicit(profiles[u]), _explicit(templates[u])) for u in range(units.size)]
        successors = unit_successors(self.index, units.unit_of, units.size)
        merger = _Merger(units)
        for tail, head in _chain_pairs(successors, can_chain, pod):
            merger.join(tail, head, CHAIN)
        return merger.merged()

    # -- stages 2-4: automatic fusion ------------------------------------------------------

    def stage(self, before: _Units, pairs: Iterable[Pair], reason: int, refused: Refusal) -> _Units:
        """Join the units of ``pairs`` of nodes, then resolve the cycles that made."""
        merger = _Merger(before)
        for a, b in pairs:
            conflict = merger.join(before.unit_of[a], before.unit_of[b], reason)
            if conflict is not None:
                refused((a, b), conflict)
        if merger.unions == 0:  # nothing joined, so no new cycle
            return merger.merged()
        return self._resolve_cycles(before, merger.merged(), reason)

    def _resolve_cycles(self, before: _Units, fused: _Units, reason: int) -> _Units:
        """Merge each cyclic component of the task graph into one unit, or undo it."""
        successors = unit_successors(self.index, fused.unit_of, fused.size)
        component, cyclic = _components(successors)
        if not cyclic:
            return fused
        merger = _Merger(fused)
        undone: set[int] = set()
        for units in cyclic:
            conflict = merger.conflict(units)
            if conflict is None:
                for unit in units[1:]:
                    merger.join(units[0], unit, PATH)
            else:
                undone.add(component[units[0]])
                self._report_undone(fused, set(units), conflict, reason)
        keys = [
            fused.size + before.unit_of[v] if component[unit] in undone else merger.sets.find(unit)
            for v, unit in enumerate(fused.unit_of)
        ]
        return merger.units_by_key(keys, before)

    def _report_undone(self, fused: _Units, units: set[int], conflict: str, reason: int) -> None:
        nodes = [v for v, unit in enumerate(fused.unit_of) if unit in units]
        what = reason_names(reason)[0]
        message = (
            f"nodes {self.names(nodes)} would all have to run in one task ({what} grouping "
            f"and the nodes on paths between them), which would mix {conflict}"
        )
        if reason == MEMORY:
            self.memory_conflicts.append(message)
        elif reason == NAMESPACE:
            self.warnings.append(f"{message}: their namespace runs as several tasks instead")
        else:
            self.warnings.append(f"{message}: their {what} grouping is undone")


def _sticky_order(
    successors: Sequence[Sequence[int]],
    key: Sequence[tuple[str | None, ...] | None],
    priority: Sequence[int],
) -> list[int]:
    """A topological order (Kahn's algorithm) that, among the ready vertices, takes one with
    the last one's key when there is one, else the one of lowest ``priority``."""
    indegree, ready = kahn_start(successors, priority)
    ready_by_key: dict[tuple[str | None, ...], list[tuple[int, int]]] = defaultdict(list)
    for item in ready:
        if key[item[1]] is not None:
            heapq.heappush(ready_by_key[key[item[1]]], item)  # type: ignore[index]
    done = [False] * len(successors)
    order: list[int] = []
    last: tuple[str | None, ...] | None = None
    while len(order) < len(successors):
        vertex = -1
        alike = ready_by_key.get(last) if last is not None else None
        while alike:
            candidate = heapq.heappop(alike)[1]
            if not done[candidate]:
                vertex = candidate
                break
        while vertex < 0:
            candidate = heapq.heappop(ready)[1]
            if not done[candidate]:
                vertex = candidate
        done[vertex] = True
        order.append(vertex)
        last = key[vertex]
        for head in successors[vertex]:
            indegree[head] -= 1
            if indegree[head] == 0:
                item = (priority[head], head)
                heapq.heappush(ready, item)
                if key[head] is not None:
                    heapq.heappush(ready_by_key[key[head]], item)  # type: ignore[index]
    return order


def _explicit(asked: str | None) -> str | None:
    """What a unit asks for, the default profile or template asked by name counting as none."""
    return None if asked == DEFAULT else asked


def _chain_pairs(
    successors: Sequence[Sequence[int]], can_chain: Sequence[bool], pod: Sequence[object]
) -> Iterable[Pair]:
    """The task-graph edges ``u -> v`` where ``v`` is the only successor of ``u`` and ``u`` the
    only predecessor of ``v``, both may chain and ask for the same pod (``pod``: what each
    unit asks for)."""
    indegree = [0] * len(successors)
    for heads in successors:
        for head in heads:
            indegree[head] += 1
    for unit, heads in enumerate(successors):
        if len(heads) != 1:
            continue
        head = heads[0]
        if indegree[head] == 1 and can_chain[unit] and can_chain[head] and pod[unit] == pod[head]:
            yield unit, head


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(name) for name in names)
