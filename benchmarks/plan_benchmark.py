"""Time the task-plan stage on synthetic pipelines of 1k, 5k and 10k nodes.

    python benchmarks/plan_benchmark.py [--sizes 1000 5000 10000] [--repeat 3] [--seed 7]

Pipelines are random but seeded DAGs shaped like real projects: mostly local data flow with
some long-range edges, nested namespaces, ``airflow.<group>`` tag groups, machine tags, spark
nodes (by tag, type hint and catalog type), transcoded datasets and in-memory datasets, with the
node dependencies a Kedro snapshot carries. Two scenarios are timed:
``catalog`` (every dataset in the catalog, default grouping) and ``memory`` (some datasets left
out of the catalog, ``group_by: memory``). The script prints the best time per size and the
ratio t(10k)/t(5k), which stays near 2 when planning grows linearly.

Rendering (SPEC + DAG file text) is timed on the same plans; the last lines give the ratios
for planning and for plan + render.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from kedro_airflow_k8s.config import parse_config
from kedro_airflow_k8s.plan import GroupBy, PlanOptions, TaskPlan, build_plan
from kedro_airflow_k8s.render import DagContext, build_spec, render_dag
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, NodeSpec, PipelineSpec

SPARK_TAG = "kedro-airflow-k8s.group.pyspark"
PROFILES = frozenset({"__default__", "small", "big"})
RUN_CONFIG = parse_config(
    {
        "run_config": {
            "image": "bench:1",
            "resources": {
                "__default__": {"requests": {"cpu": "1"}},
                "small": {"requests": {"cpu": "500m"}},
                "big": {"requests": {"cpu": "8", "memory": "64Gi"}},
            },
        }
    }
).run_config
CONTEXT = DagContext("Bench", "bench", "__default__", "local", "0" * 40)


@dataclass(frozen=True)
class Scenario:
    name: str
    options: PlanOptions
    memory_share: float  # share of datasets left out of the catalog


SCENARIOS = (
    Scenario("catalog", PlanOptions(resource_profiles=PROFILES), 0.0),
    Scenario("memory", PlanOptions(resource_profiles=PROFILES, group_by=GroupBy.MEMORY), 0.3),
)


@dataclass(frozen=True)
class Synthetic:
    pipeline: PipelineSpec
    datasets: Mapping[str, DatasetSpec]


def _namespace_of(position: int, rng: random.Random) -> str | None:
    """Blocks of ~250 nodes share a top-level namespace, some with a nested one."""
    block = position // 250
    if block % 4 == 3:
        return None
    nested = rng.random() < 0.3
    return f"ns{block}.part{position // 60 % 3}" if nested else f"ns{block}"


def _tag_intervals(size: int, rng: random.Random) -> dict[int, str]:
    """About a fifth of the nodes in tag groups of 2-8 consecutive nodes.

    A run of consecutive nodes in a topological order can never be part of a cycle, so the
    groups are valid whatever the edges are.
    """
    groups: dict[int, str] = {}
    position = 0
    while position < size:
        if rng.random() < 0.04:
            length = rng.randint(2, 8)
            for member in range(position, min(position + length, size)):
                groups[member] = f"g{position}"
            position += length
        else:
            position += 1
    return groups


def _inputs_for(position: int, outputs: Sequence[str], rng: random.Random) -> list[str]:
    """1-3 earlier outputs, mostly from nearby nodes; sometimes a free input or parameters."""
    inputs: list[str] = []
    for _ in range(rng.randint(1, 3)):
        if not outputs or rng.random() < 0.05:
            inputs.append(f"raw_{position}")
        elif rng.random() < 0.9:
            inputs.append(outputs[max(0, len(outputs) - 1 - int(rng.expovariate(1 / 20)))])
        else:
            inputs.append(rng.choice(outputs))
    if rng.random() < 0.2:
        inputs.append("params:model")
    return list(dict.fromkeys(inputs))


def _spark_traits(rng: random.Random) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    roll = rng.random()
    if roll < 0.01:
        return (SPARK_TAG,), ()
    if roll < 0.02:
        return (), (("df", "Optional[pyspark.sql.DataFrame]"),)
    return (), ()


def synthetic_pipeline(size: int, seed: int, memory_share: float) -> Synthetic:
    rng = random.Random(seed * 1_000_003 + size)
    groups = _tag_intervals(size, rng)
    outputs: list[str] = []
    nodes: list[NodeSpec] = []
    for position in range(size):
        namespace = _namespace_of(position, rng)
        name = f"{namespace}.node_{position}" if namespace else f"node_{position}"
        produced = [f"d{position}_{k}" for k in range(rng.randint(1, 2))]
        tags, annotations = _spark_traits(rng)
        if position in groups:
            tags = (*tags, f"airflow.{groups[position]}")
        elif rng.random() < 0.05:
            tags = (*tags, rng.choice(("machine.big", "resources.small")))
        nodes.append(
            NodeSpec(
                name=name,
                inputs=tuple(_inputs_for(position, outputs, rng)),
                outputs=tuple(produced),
                tags=tags,
                namespace=namespace,
                annotations=annotations,
            )
        )
        outputs.extend(produced)
    in_memory = _in_memory_datasets(nodes, memory_share, rng)
    nodes, transcoded = _transcoded(nodes, in_memory, rng)
    datasets = {
        dataset: DatasetSpec(dataset, DatasetSource.ENTRY, _dataset_type(rng))
        for dataset in (*(d for d in outputs if d not in in_memory), *transcoded)
    }
    pipeline = PipelineSpec(
        f"synthetic_{size}",
        tuple(nodes),
        dependencies=_dependencies(nodes, transcoded),
        transcoded=transcoded,
    )
    return Synthetic(pipeline, datasets)


def _transcoded(
    nodes: Sequence[NodeSpec], in_memory: set[str], rng: random.Random
) -> tuple[list[NodeSpec], dict[str, str]]:
    """About 3% of the persisted datasets written as ``name@parquet`` and read as
    ``name@pandas``, both forms in the catalog (as transcoding asks)."""
    chosen = {d for n in nodes for d in n.outputs if d not in in_memory and rng.random() < 0.03}

    def form(name: str, suffix: str) -> str:
        return f"{name}@{suffix}" if name in chosen else name

    renamed = [
        NodeSpec(
            name=n.name,
            inputs=tuple(form(d, "pandas") for d in n.inputs),
            outputs=tuple(form(d, "parquet") for d in n.outputs),
            tags=n.tags,
            namespace=n.namespace,
            annotations=n.annotations,
        )
        for n in nodes
    ]
    transcoded = {f"{d}@{suffix}": d for d in sorted(chosen) for suffix in ("parquet", "pandas")}
    return renamed, transcoded


def _dependencies(
    nodes: Sequence[NodeSpec], transcoded: Mapping[str, str]
) -> dict[str, tuple[str, ...]]:
    """What ``Pipeline.node_dependencies`` reports for these nodes, as the snapshot carries it:
    the producer of each input, the forms of a transcoded dataset being one dataset."""
    producer = {transcoded.get(d, d): n.name for n in nodes for d in n.outputs}
    return {
        n.name: tuple(
            sorted({producer[b] for d in n.inputs if (b := transcoded.get(d, d)) in producer})
        )
        for n in nodes
    }


def _dataset_type(rng: random.Random) -> str:
    return "spark.SparkDataset" if rng.random() < 0.005 else "pandas.ParquetDataset"


def _in_memory_datasets(nodes: Sequence[NodeSpec], share: float, rng: random.Random) -> set[str]:
    """A ``share`` of the datasets that can stay in memory under ``group_by: memory``.

    Those read only by nodes at most 5 positions later, with no tagged node in between, so the
    fused tasks never need to mix tag groups or resource profiles.
    """
    producer = {dataset: p for p, node in enumerate(nodes) for dataset in node.outputs}
    last_reader: dict[str, int] = {}
    for position, node in enumerate(nodes):
        for dataset in node.inputs:
            if dataset in producer:
                last_reader[dataset] = position
    tagged = [
        any(tag.startswith(("airflow.", "machine.", "resources.")) for tag in n.tags) for n in nodes
    ]
    chosen: set[str] = set()
    for dataset, reader in last_reader.items():
        span = range(producer[dataset], reader + 1)
        if len(span) <= 6 and not any(tagged[p] for p in span) and rng.random() < share:
            chosen.add(dataset)
    return chosen


@dataclass(frozen=True)
class Timing:
    wall: float  # best wall-clock seconds
    cpu: float  # best process CPU seconds (steadier on a busy machine)


def best_time(action: Callable[[], object], repeat: int) -> Timing:
    wall = cpu = float("inf")
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return Timing(wall, cpu)


def render_once(plan: TaskPlan) -> str:
    """The render stage as compile runs it: SPEC from the plan, then the file text."""
    return render_dag(build_spec(plan, RUN_CONFIG, CONTEXT))


def time_one(scenario: Scenario, size: int, seed: int, repeat: int) -> tuple[int, Timing, Timing]:
    """Tasks planned, the planning time and the rendering time."""
    synthetic = synthetic_pipeline(size, seed, scenario.memory_share)
    plan_it = partial(build_plan, synthetic.pipeline, synthetic.datasets, scenario.options)
    plan = plan_it()
    planning = best_time(plan_it, repeat)
    rendering = best_time(partial(render_once, plan), repeat)
    return len(plan.tasks), planning, rendering


def run(
    sizes: Sequence[int], repeat: int, seed: int
) -> dict[tuple[str, int], tuple[Timing, Timing]]:
    timings: dict[tuple[str, int], tuple[Timing, Timing]] = {}
    print(
        f"{'scenario':<9} {'nodes':>6} {'tasks':>6} {'plan ms':>9} {'cpu ms':>8} "
        f"{'render ms':>10} {'total ms':>9}"
    )
    for scenario in SCENARIOS:
        for size in sizes:
            tasks, planning, rendering = time_one(scenario, size, seed, repeat)
            timings[(scenario.name, size)] = (planning, rendering)
            print(
                f"{scenario.name:<9} {size:>6} {tasks:>6} "
                f"{planning.wall * 1000:>9.1f} {planning.cpu * 1000:>8.1f} "
                f"{rendering.wall * 1000:>10.1f} {(planning.wall + rendering.wall) * 1000:>9.1f}"
            )
    return timings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    timings = run(args.sizes, args.repeat, args.seed)
    if {5000, 10000} <= set(args.sizes):
        for scenario in SCENARIOS:
            (big, big_render) = timings[(scenario.name, 10000)]
            (half, half_render) = timings[(scenario.name, 5000)]
            total_big, total_half = big.wall + big_render.wall, half.wall + half_render.wall
            print(
                f"{scenario.name}: plan t(10k)/t(5k) = {big.wall / half.wall:.2f} wall, "
                f"{big.cpu / half.cpu:.2f} cpu; plan+render t(10k)/t(5k) = "
                f"{total_big / total_half:.2f}; plan+render of 10k = {total_big:.3f} s (linear: ~2)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
