"""Scale benchmark: compile, DAG parse, memory and pods on synthetic Kedro projects.

    python benchmarks/scale_benchmark.py [--sizes 1000 5000 10000] [--repeat 3] [--seed 7]
                                         [--profile] [--instructions] [--keep DIR]
    python benchmarks/scale_benchmark.py --fixtures [--keep DIR]

For each size it writes a Kedro project whose pipeline has that many nodes (the seeded graphs of
``plan_benchmark.py``: local data flow with long-range edges, nested namespaces, resource tags;
no tag groups and no spark nodes, so one node is one task) and whose catalog declares every
dataset. Then, side by side in the same run, in fresh processes and alternating:

* wall time, CPU time and peak RSS of the bare project load (``kedro registry list``), of
  ``kedro airflow-k8s compile`` and of kedro-airflow's ``kedro airflow create``
  (``pip install -r requirements/bench.txt``; left out with a note when it is missing);
* the parse of both generated DAG files by Airflow's DagBag, with the file's ``airflow.*``
  imports loaded first as the DAG processor does (``[dag_processor] parsing_pre_import_modules``)
  and no bytecode cache (the first parse after a change), and then Airflow's serialization of
  the DAG (which the DAG processor does after the parse, outside its import timeout);
* the tasks (pods) and the critical path in pods per grouping strategy, on the project and on
  the plan benchmark's pipelines with tag groups, spark nodes and in-memory datasets.

``--fixtures`` instead counts the tasks (pods) and the critical path per grouping strategy of the
bundled example and the test projects: each is copied, given the configuration
``kedro airflow-k8s init`` writes when it has none, and planned by
``kedro airflow-k8s compile --group-by STRATEGY --explain json``.

It prints ratios against the baselines and whether the scale goals are met. ``--profile``
adds where compile spends its time (cProfile of the largest size, in-process).
``--instructions`` adds the instructions each command executes at the smallest size, counted
by valgrind's callgrind (one run of each, with one hash seed for all so that Kedro's set-ordered
work, its namespace warnings among it, is the same in each): a count that does not move with
the machine's load, where CPU times of the same command spread by 0.1 s and more. Nothing is
asserted: the figures are for reading (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plan_benchmark import SPARK_TAG, synthetic_pipeline

from kedro_airflow_k8s.snapshot import NodeSpec

PACKAGE = "scale_bench"
# group_by strategies whose pods are counted (comma-separated combinations)
STRATEGIES = ("none", "memory", "namespace", "chain", "memory,chain", "namespace,chain")
CATALOG_FILE_ENTRIES = 1000
DEFAULT_TIMEOUT = 1800.0
AIRFLOW_IMPORT_TIMEOUT = 30.0  # Airflow's default [core] dagbag_import_timeout

# --- the synthetic project -------------------------------------------------------------------


def ungrouped_nodes(size: int, seed: int) -> list[NodeSpec]:
    """The plan benchmark's pipeline without tag groups and spark traits: a task per node."""
    pipeline = synthetic_pipeline(size, seed, 0.0).pipeline
    return [
        node._replace(
            tags=tuple(t for t in node.tags if not t.startswith("airflow.") and t != SPARK_TAG),
            annotations=(),
        )
        for node in pipeline.nodes
    ]


PYPROJECT = f"""\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "{PACKAGE}"
version = "0.1.0"
requires-python = ">=3.10"

[tool.kedro]
package_name = "{PACKAGE}"
project_name = "Scale bench"
kedro_init_version = "1.7.0"
source_dir = "src"
"""
SETTINGS = """\
CONFIG_LOADER_ARGS = {"base_env": "base", "default_run_env": "local"}
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-mlflow", "kedro_mlflow")
"""
REGISTRY = """\
import json
from pathlib import Path

from kedro.pipeline import Pipeline, node


def step(*inputs):
    return inputs


def register_pipelines():
    graph = json.loads((Path(__file__).parent / "graph.json").read_text())
    nodes = [
        node(step, inputs, outputs, name=name, namespace=namespace, tags=tags)
        for name, namespace, inputs, outputs, tags in graph
    ]
    return {"__default__": Pipeline(nodes)}
"""
PLUGIN_CONFIG = """\
run_config:
  image: scale-bench:1
  run_name: scale_bench
  resources:
    __default__: {requests: {cpu: "1"}}
    small: {requests: {cpu: 500m}}
    big: {requests: {cpu: "8", memory: 64Gi}}
"""


def write_project(root: Path, size: int, seed: int) -> Path:
    """A Kedro project of ``size`` nodes whose catalog declares every dataset (in files of
    ``CATALOG_FILE_ENTRIES`` entries)."""
    project = root / f"scale_{size}"
    package = project / "src" / PACKAGE
    package.mkdir(parents=True)
    (project / "conf" / "base").mkdir(parents=True)
    (project / "conf" / "local").mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT)
    (package / "__init__.py").write_text('__version__ = "0.1.0"\n')
    (package / "settings.py").write_text(SETTINGS)
    (package / "pipeline_registry.py").write_text(REGISTRY)
    nodes = ungrouped_nodes(size, seed)
    graph = []
    for spec in nodes:
        short = spec.name.rsplit(".", 1)[-1] if spec.namespace else spec.name
        graph.append([short, spec.namespace, list(spec.inputs), list(spec.outputs), spec.tags])
    (package / "graph.json").write_text(json.dumps(graph))
    datasets = sorted(
        {d for spec in nodes for d in (*spec.inputs, *spec.outputs) if not d.startswith("params")}
    )
    # OmegaConf 2.4 refuses a YAML document of more than 10,000 nodes (about 2,000 entries):
    # large projects split their catalog, as Kedro's default pattern catalog*/** allows
    (project / "conf" / "base" / "catalog").mkdir()
    for start in range(0, len(datasets), CATALOG_FILE_ENTRIES):
        part = datasets[start : start + CATALOG_FILE_ENTRIES]
        text = "".join(
            f"{n}:\n  type: pickle.PickleDataset\n  filepath: data/{n}.pkl\n" for n in part
        )
        (project / "conf" / "base" / "catalog" / f"part_{start:06d}.yml").write_text(text)
    (project / "conf" / "base" / "parameters.yml").write_text("model:\n  alpha: 1\n")
    (project / "conf" / "base" / "kedro-airflow-k8s.yaml").write_text(PLUGIN_CONFIG)
    return project


# --- measuring commands --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Run:
    wall: float  # seconds
    cpu: float  # user + system seconds of the process
    rss_mb: float  # peak resident set size


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEDRO_", "AIRFLOW__"))}
    env.update(
        {
            "KEDRO_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": str(DEFAULT_TIMEOUT),
        }
    )
    return env


def measure(command: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[Run, str]:
    """Run ``command`` to its end: its wall time, CPU time and peak RSS (from wait4), and its
    standard output. A failed command stops the benchmark with its error output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr[-3000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024), stdout


def kedro(*args: str) -> list[str]:
    return [sys.executable, "-m", "kedro", *args]


def has_kedro_airflow() -> bool:
    from importlib.util import find_spec

    return find_spec("kedro_airflow") is not None


def median_run(runs: Sequence[Run]) -> Run:
    return Run(
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
        statistics.median(r.rss_mb for r in runs),
    )


Commands = dict[str, tuple[list[str], dict[str, str]]]


def compared_commands(
    out: Path, env: dict[str, str], with_kedro_airflow: bool, baseline: Path | None = None
) -> Commands:
    """The commands compared, by name, each with its environment: the bare load, compile, the
    ``baseline`` version's compile and kedro-airflow's ``create``, writing under ``out``; all
    with the bytecode cache of the work folder (see :func:`time_commands`)."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(out.parent / "pycache")
    commands: Commands = {
        "bare load": (kedro("registry", "list"), env),
        "compile": (kedro("airflow-k8s", "compile", "-o", str(out / "ours")), env),
    }
    if baseline is not None:
        commands["compile before"] = (
            kedro("airflow-k8s", "compile", "-o", str(out / "before")),
            {**env, "PYTHONPATH": str(baseline)},
        )
    if with_kedro_airflow:
        commands["kedro-airflow"] = (
            kedro("airflow", "create", "-t", str(out / "kedro_airflow")),
            env,
        )
    return commands


def time_commands(
    project: Path,
    out: Path,
    env: dict[str, str],
    repeat: int,
    with_kedro_airflow: bool,
    baseline: Path | None = None,
) -> tuple[dict[str, Run], dict[str, list[Run]]]:
    """Median of ``repeat`` runs of each command, run in turn (``baseline``: the ``src`` folder
    of another version of the plugin, whose compile is timed too).

    The commands keep Python's bytecode, as an installed package has it (pip compiles it at
    install): the plugin runs from its source folder here, so without a bytecode cache each run
    would also pay for compiling the plugin's modules, which kedro-airflow, Kedro and the rest,
    installed, do not. The cache lives in the work folder (``PYTHONPYCACHEPREFIX``) and one
    run of each command before the timed ones fills it."""
    commands = compared_commands(out, env, with_kedro_airflow, baseline)
    for command, command_env in commands.values():  # fill the bytecode and file system caches
        measure(command, project, command_env)
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, (command, command_env) in commands.items():
            runs[name].append(measure(command, project, command_env)[0])
    return {name: median_run(values) for name, values in runs.items()}, runs


def paired_overheads(rounds: Mapping[str, Sequence[Run]]) -> dict[str, tuple[float, float]]:
    """Each command's overhead over the bare load of the same round (the commands alternate),
    median over the rounds: (wall, cpu). Drifts of the machine's speed between rounds cancel."""
    bare = rounds["bare load"]
    return {
        name: (
            statistics.median(r.wall - b.wall for r, b in zip(runs, bare, strict=True)),
            statistics.median(r.cpu - b.cpu for r, b in zip(runs, bare, strict=True)),
        )
        for name, runs in rounds.items()
        if name != "bare load"
    }


def rounds_below(rounds: Mapping[str, Sequence[Run]], ours: str, theirs: str) -> int:
    """In how many rounds ``ours`` took less CPU than ``theirs``."""
    return sum(a.cpu < b.cpu for a, b in zip(rounds[ours], rounds[theirs], strict=True))


# --- instructions (callgrind) ---------------------------------------------------------------------

HASH_SEED = "0"


def count_instructions(command: Sequence[str], cwd: Path, env: dict[str, str]) -> int:
    """Instructions ``command`` executes (its own process, not its children), as counted by
    valgrind's callgrind."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        cwd=cwd,
        env={**env, "PYTHONHASHSEED": HASH_SEED},
        capture_output=True,
        text=True,
        timeout=DEFAULT_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} under valgrind failed:\n{done.stderr[-3000:]}")
    return collected(done.stderr)


def collected(valgrind_output: str) -> int:
    """The instruction count callgrind reports (``==PID== Collected : N``)."""
    for line in valgrind_output.splitlines():
        _, found, count = line.partition("Collected :")
        if found:
            return int(count.strip())
    raise SystemExit(f"no instruction count in valgrind's output:\n{valgrind_output[-3000:]}")


def instructions(
    project: Path, out: Path, env: dict[str, str], baseline: Path | None
) -> dict[str, int]:
    """Each timed command's instructions, two at a time (the bytecode caches are filled by the
    timed runs before)."""
    from concurrent.futures import ThreadPoolExecutor

    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (e.g. apt-get install valgrind)")
    commands = compared_commands(out, env, has_kedro_airflow(), baseline)
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = {
            name: pool.submit(count_instructions, command, project, command_env)
            for name, (command, command_env) in commands.items()
        }
        return {name: future.result() for name, future in counts.items()}


def print_instructions(size: int, counts: Mapping[str, int]) -> None:
    print(f"\n== instructions executed ({size} nodes, callgrind, PYTHONHASHSEED={HASH_SEED}) ==")
    bare = counts["bare load"]
    for name, count in counts.items():
        print(f"{name:<16} {count / 1e6:>10,.0f} M  {(count - bare) / 1e6:>+8,.0f} M")
    ours = counts["compile"] - bare
    for other in ("kedro-airflow", "compile before"):
        if other in counts:
            print(f"overhead, compile / {other}: {_ratio(ours, counts[other] - bare)}")


# --- parsing DAG files ---------------------------------------------------------------------------

PARSE = textwrap.dedent(
    """
    import ast, importlib, json, sys, time
    path, mode = sys.argv[1], sys.argv[2]
    if mode == "airflow":  # what the DAG processor pre-imports: the file's airflow.* modules
        from airflow.utils.file import iter_airflow_imports
        modules = list(iter_airflow_imports(path))
    else:  # every module the file imports at its top level (also inside try:)
        modules = []
        for statement in ast.parse(open(path).read()).body:
            for node in [statement, *getattr(statement, "body", [])]:
                if isinstance(node, ast.Import):
                    modules += [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.append(node.module)
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:
            pass
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization
    wall, cpu = time.perf_counter(), time.process_time()
    bag = DagBag(dag_folder=path)
    parse_wall, parse_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall = time.perf_counter()
    for dag in bag.dags.values():
        DagSerialization.to_dict(dag)
    print(json.dumps({
        "parse_wall": parse_wall,
        "parse_cpu": parse_cpu,
        "serialize_wall": time.perf_counter() - wall,
        "tasks": sum(len(dag.tasks) for dag in bag.dags.values()),
        "errors": {str(k): str(v)[-500:] for k, v in bag.import_errors.items()},
    }))
    """
)
PARSE_MODES = {
    "airflow": "the file's airflow.* imports pre-loaded, as Airflow's DAG processor does",
    "all": "all of the file's top-level imports pre-loaded (the DAG construction alone)",
}


@dataclasses.dataclass(frozen=True)
class Parse:
    wall: float
    cpu: float
    serialize: float
    tasks: int
    errors: dict[str, str]


def parse_dag(dag_file: Path, mode: str, work: Path, env: dict[str, str], repeat: int) -> Parse:
    """Median DagBag parse of a copy of ``dag_file`` (no bytecode cache) in fresh processes."""
    results = []
    for number in range(repeat):
        folder = work / f"parse_{dag_file.stem}_{mode}_{number}"
        folder.mkdir()
        copy = folder / dag_file.name
        shutil.copy(dag_file, copy)
        _, stdout = measure(
            [sys.executable, "-c", PARSE, str(copy), mode],
            folder,
            {**env, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    return Parse(
        statistics.median(r["parse_wall"] for r in results),
        statistics.median(r["parse_cpu"] for r in results),
        statistics.median(r["serialize_wall"] for r in results),
        results[0]["tasks"],
        results[0]["errors"],
    )


# --- pods per grouping strategy ------------------------------------------------------------------

PODS = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from kedro_airflow_k8s import stages
    from kedro_airflow_k8s.errors import PluginError
    loaded = stages.load(Path.cwd(), "local", ("__default__",))
    out = {}
    for strategy in json.loads(sys.argv[1]):
        try:
            plan = stages.plan_pipeline(loaded, "__default__", strategy.split(","))
        except PluginError as error:
            out[strategy] = "refused: " + str(error).split(":")[0]
            continue
        depth = {}
        for task in plan.tasks:  # topological order
            depth[task.full_task_id] = 1 + max((depth[u] for u in task.upstream), default=0)
        out[strategy] = [len(plan.tasks), max(depth.values(), default=0)]
    print(json.dumps(out))
    """
)


def project_pods(project: Path, env: dict[str, str]) -> dict[str, Any]:
    """Tasks and critical path (in pods) per strategy, planned from the real Kedro project."""
    _, stdout = measure([sys.executable, "-c", PODS, json.dumps(STRATEGIES)], project, env)
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return result


def synthetic_pods(size: int, seed: int) -> dict[str, dict[str, Any]]:
    """The same on the plan benchmark's pipelines (tag groups, spark nodes; scenario ``memory``
    leaves 30 % of the datasets out of the catalog), planned in-process."""
    from plan_benchmark import SCENARIOS

    from kedro_airflow_k8s.errors import PluginError
    from kedro_airflow_k8s.plan import build_plan, group_by_strategies

    out: dict[str, dict[str, Any]] = {}
    for scenario in SCENARIOS:
        synthetic = synthetic_pipeline(size, seed, scenario.memory_share)
        out[scenario.name] = {}
        for strategy in STRATEGIES:
            chosen = group_by_strategies(strategy.split(","))
            options = scenario.options._replace(group_by=chosen)
            try:
                plan = build_plan(synthetic.pipeline, synthetic.datasets, options)
            except PluginError as error:
                out[scenario.name][strategy] = "refused: " + str(error).split(":")[0]
                continue
            depth: dict[str, int] = {}
            for task in plan.tasks:
                depth[task.full_task_id] = 1 + max((depth[u] for u in task.upstream), default=0)
            out[scenario.name][strategy] = [len(plan.tasks), max(depth.values(), default=0)]
    return out


# --- pods of the bundled example and the test projects --------------------------------------

REPO = Path(__file__).resolve().parent.parent
FIXTURES = (
    "examples/spaceflights",
    "tests/data/transcoding_project",
    "tests/data/modular_project",
    "tests/data/grouping_project",
    "tests/data/spark_project",
)
TASK_PLAN_FORMAT = "kedro-airflow-k8s/task-plan"


def _task_plan(stdout: str) -> dict[str, Any]:
    """The JSON task plan among what ``compile --explain json`` prints (Kedro's log lines go to
    the same stream before it)."""
    decoder = json.JSONDecoder()
    offset = 0
    for line in stdout.splitlines(keepends=True):
        if line.rstrip() == "{":
            try:
                found, _ = decoder.raw_decode(stdout[offset:])
            except json.JSONDecodeError:
                pass
            else:
                if isinstance(found, dict) and found.get("format") == TASK_PLAN_FORMAT:
                    return found
        offset += len(line)
    raise SystemExit(f"no task plan in the output of compile --explain json:\n{stdout[-3000:]}")


def critical_path(tasks: Sequence[dict[str, Any]]) -> int:
    """The longest chain of tasks, in tasks, through the plan's ``upstream`` links."""
    upstream = {task["full_task_id"]: task["upstream"] for task in tasks}
    depth: dict[str, int] = {}

    def visit(task_id: str) -> int:
        if task_id not in depth:
            depth[task_id] = 1 + max((visit(u) for u in upstream[task_id]), default=0)
        return depth[task_id]

    return max((visit(task_id) for task_id in upstream), default=0)


def explained_pods(project: Path, strategy: str, env: dict[str, str]) -> list[int] | str:
    """``[tasks running nodes, critical path, nodes]`` of ``compile --group-by STRATEGY
    --explain json`` on ``project``, or why compile refused."""
    command = kedro("airflow-k8s", "compile", "--group-by", strategy, "--explain", "json")
    done = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=DEFAULT_TIMEOUT
    )
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
        if not errors:
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
        reason = errors[-1][len("Error: ") :].split(":")[0]
        return f"refused (exit {done.returncode}): {reason}"
    tasks = [task for task in _task_plan(done.stdout)["tasks"] if task["nodes"]]
    return [len(tasks), critical_path(tasks), sum(len(task["nodes"]) for task in tasks)]


def fixture_pods(
    root: Path, env: dict[str, str], strategies: Sequence[str] = STRATEGIES
) -> dict[str, dict[str, Any]]:
    """Pods per strategy of each project of ``FIXTURES``, copied under ``root`` (with the
    configuration ``kedro airflow-k8s init`` writes when the project has none)."""
    out: dict[str, dict[str, Any]] = {}
    for relative in FIXTURES:
        project = root / Path(relative).name
        shutil.copytree(REPO / relative, project, ignore=shutil.ignore_patterns("dag", ".airflow"))
        if not list(project.glob("conf/*/kedro-airflow-k8s.yaml")):
            measure(kedro("airflow-k8s", "init", "https://airflow.example.com"), project, env)
        out[project.name] = {s: explained_pods(project, s, env) for s in strategies}
    return out


def print_fixture_pods(pods: dict[str, dict[str, Any]]) -> None:
    print("\n== pods of the bundled example and the test projects (compile --explain json) ==")
    nodes = {
        name: next((v[2] for v in counts.values() if isinstance(v, list)), None)
        for name, counts in pods.items()
    }
    width = max(len(name) for name in pods) + 2
    print(f"{'pods [tasks/critical path]':<28}" + "".join(f"{n:>{width}}" for n in pods))
    print(f"{'  nodes':<28}" + "".join(f"{n or '-'!s:>{width}}" for n in nodes.values()))
    for strategy in next(iter(pods.values()), {}):
        cells = []
        for counts in pods.values():
            value = counts[strategy]
            cells.append(f"{value[0]}/{value[1]}" if isinstance(value, list) else "refused")
        print(f"  group_by: {strategy:<16}" + "".join(f"{c:>{width}}" for c in cells))
    refusals = {v for counts in pods.values() for v in counts.values() if isinstance(v, str)}
    for reason in sorted(refusals):
        print(f"  ({reason})")


# --- where compile's time goes -------------------------------------------------------------------

PROFILE = textwrap.dedent(
    """
    import cProfile, json, pstats, sys
    from pathlib import Path
    sys.argv = ["kedro", "airflow-k8s", "compile", "-o", sys.argv[1], *sys.argv[2:3]]
    wanted = json.loads(sys.argv.pop())
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        from kedro.framework.cli import main
        main()
    except SystemExit:
        pass
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    def matches(key, suffix, function):
        return key[2] == function and key[0].replace("\\\\", "/").endswith(suffix)

    found = {}
    for key, (_, _, _, cumulative, callers) in stats.items():
        for label, (suffix, function, *caller) in wanted.items():
            if not matches(key, suffix, function):
                continue
            if caller:  # only the time spent in calls from that caller
                cumulative = sum(v[3] for k, v in callers.items() if matches(k, *caller))
            found[label] = found.get(label, 0.0) + cumulative
    top = sorted(stats.items(), key=lambda item: -item[1][3])
    print(json.dumps({
        "total": top[0][1][3],
        "parts": found,
        "top": [[f"{Path(p).name}:{line}({n})", v[3]] for (p, line, n), v in top[:40]],
    }))
    """
)

# label: (end of the file path, function name); indented labels are parts of the one above
# label: (end of the file path, function name[, caller's file path end, caller's name]); an
# indented label is a part of the one above
_LOAD = ("kedro_airflow_k8s/project.py", "load_project")
PROFILE_PARTS = {
    "kedro CLI start-up, plugins' commands (as the bare load)": (
        "kedro/framework/cli/cli.py",
        "__init__",
        "kedro/framework/cli/cli.py",
        "main",
    ),
    "airflow-k8s compile": ("kedro_airflow_k8s/cli.py", "compile"),
    "  import kedro_airflow_k8s.stages": ("kedro_airflow_k8s/stages.py", "<module>"),
    "  load_project": _LOAD,
    "    bootstrap (only without Kedro's CLI)": (
        "kedro/framework/startup.py",
        "bootstrap_project",
        *_LOAD,
    ),
    "    config loader from settings.py": ("kedro_airflow_k8s/project.py", "config_loader"),
    "    plugin config (read, validate)": (
        "kedro_airflow_k8s/config/loading.py",
        "read_raw_config",
    ),
    "    kedro-mlflow settings": (
        "kedro_airflow_k8s/features/mlflow/settings.py",
        "read_mlflow_settings",
    ),
    "    pipelines (registry, node specs)": (
        "kedro_airflow_k8s/project.py",
        "registered_pipelines",
    ),
    "      register_pipelines (as the bare load)": ("pipeline_registry.py", "register_pipelines"),
    "      node specs": ("kedro_airflow_k8s/project.py", "pipeline_spec"),
    "    catalog: names and types": ("kedro_airflow_k8s/project.py", "catalog_entries"),
    "      Kedro's loader (where the direct read cannot be exact)": (
        "kedro/config/omegaconf_config.py",
        "__getitem__",
        "kedro_airflow_k8s/project.py",
        "catalog_entries",
    ),
    "    describe_datasets": ("kedro_airflow_k8s/project.py", "describe_datasets"),
    "    parameters": ("kedro_airflow_k8s/project.py", "_parameters"),
    "    git commit and branch": ("kedro_airflow_k8s/git.py", "git_output"),
    "  plan (build_plan)": ("kedro_airflow_k8s/plan/build.py", "build_plan"),
    "  render: build_spec": ("kedro_airflow_k8s/render/dag.py", "build_spec"),
    "  render: render_dag": ("kedro_airflow_k8s/render/dag.py", "render_dag"),
    "  write the DAG file": ("kedro_airflow_k8s/ship.py", "write_local_atomic"),
    "  summary": ("kedro_airflow_k8s/stages.py", "summary"),
}


def profile_compile(project: Path, out: Path, env: dict[str, str]) -> dict[str, Any]:
    """cProfile of the whole ``kedro airflow-k8s compile`` command (its times are inflated by
    the profiler, pure Python most: read them as shares)."""
    parts = {label: list(target) for label, target in PROFILE_PARTS.items()}
    _, stdout = measure(
        [sys.executable, "-c", PROFILE, str(out / "profiled"), json.dumps(parts)], project, env
    )
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return result


# --- what compile imports ----------------------------------------------------------------------


def import_times(command: Sequence[str], cwd: Path, env: dict[str, str]) -> dict[str, int]:
    """Module -> its own import time in microseconds (``python -X importtime``)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *command[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEFAULT_TIMEOUT,
        check=True,
    )
    modules = {}
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            own, _, name = line[len("import time:") :].split("|")
            modules[name.strip()] = int(own)
    return modules


def compile_imports(project: Path, out: Path, env: dict[str, str]) -> dict[str, Any]:
    """What compile imports beyond the bare load: how many modules, their own import time and
    their top-level packages."""
    bare = import_times(kedro("registry", "list"), project, env)
    ours = import_times(kedro("airflow-k8s", "compile", "-o", str(out / "imports")), project, env)
    extra = {name: own for name, own in ours.items() if name not in bare}
    plugin = {n: own for n, own in extra.items() if n.startswith("kedro_airflow_k8s")}
    return {
        "bare": len(bare),
        "extra": len(extra),
        "extra_ms": sum(extra.values()) / 1000,
        "plugin": len(plugin),
        "plugin_ms": sum(plugin.values()) / 1000,
        "packages": sorted({name.split(".")[0] for name in extra} - {"kedro_airflow_k8s"}),
    }


# --- the report ----------------------------------------------------------------------------------


@dataclasses.dataclass
class SizeResult:
    size: int
    runs: dict[str, Run]
    parses: dict[str, dict[str, Parse]]  # mode -> DAG -> parse
    pods: dict[str, Any]
    synthetic_pods: dict[str, dict[str, Any]]
    rounds: dict[str, list[Run]] = dataclasses.field(default_factory=dict)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "-"


def _pods_table(result: SizeResult) -> None:
    columns = {"project": result.pods, **result.synthetic_pods}
    strategies = list(result.pods)
    print(f"{'pods [tasks/critical path]':<28}" + "".join(f"{c:>16}" for c in columns))
    for strategy in strategies:
        cells = []
        for counts in columns.values():
            value = counts.get(strategy)
            cells.append(f"{value[0]}/{value[1]}" if isinstance(value, list) else "refused")
        print(f"  group_by: {strategy:<16}" + "".join(f"{c:>16}" for c in cells))
    refusals = {v for counts in columns.values() for v in counts.values() if isinstance(v, str)}
    for reason in sorted(refusals):
        print(f"  ({reason})")


def print_size(result: SizeResult) -> None:
    size, runs = result.size, result.runs
    bare = runs["bare load"]
    print(f"\n== {size} nodes ==")
    print(f"{'command':<16} {'wall s':>8} {'cpu s':>8} {'RSS MB':>8} {'+wall s':>8} {'+cpu s':>8}")
    for name, run in runs.items():
        print(
            f"{name:<16} {run.wall:>8.2f} {run.cpu:>8.2f} {run.rss_mb:>8.0f} "
            f"{run.wall - bare.wall:>+8.2f} {run.cpu - bare.cpu:>+8.2f}"
        )
    compile_run = runs["compile"]
    print(f"peak RSS compile / bare load: {_ratio(compile_run.rss_mb, bare.rss_mb)}")
    if "kedro-airflow" in runs:
        theirs = runs["kedro-airflow"]
        print(
            "overhead over the bare load, compile / kedro-airflow create: "
            f"{_ratio(compile_run.wall - bare.wall, theirs.wall - bare.wall)} wall, "
            f"{_ratio(compile_run.cpu - bare.cpu, theirs.cpu - bare.cpu)} cpu"
        )
    if len(result.rounds.get("bare load", ())) > 1:
        paired = paired_overheads(result.rounds)
        print(
            "overhead over the bare load of the same round, median over "
            f"{len(result.rounds['bare load'])} rounds: "
            + ", ".join(
                f"{name} {cpu:+.3f} cpu ({wall:+.3f} wall)" for name, (wall, cpu) in paired.items()
            )
        )
        for other in ("kedro-airflow", "compile before"):
            if other in result.rounds:
                below = rounds_below(result.rounds, "compile", other)
                print(
                    f"compile took less CPU than {other} in {below} of "
                    f"{len(result.rounds[other])} rounds"
                )
    if "compile before" in runs:
        before = runs["compile before"]
        print(
            "overhead over the bare load, compile / compile before: "
            f"{_ratio(compile_run.wall - bare.wall, before.wall - bare.wall)} wall, "
            f"{_ratio(compile_run.cpu - bare.cpu, before.cpu - bare.cpu)} cpu"
        )
    print(f"{'DAG parse':<24} {'parse s':>8} {'cpu s':>8} {'serial s':>8} {'tasks':>8}")
    for mode, parses in result.parses.items():
        for name, parse in parses.items():
            print(
                f"{name + ' (' + mode + ')':<24} {parse.wall:>8.2f} {parse.cpu:>8.2f} "
                f"{parse.serialize:>8.2f} {parse.tasks:>8}"
                + (f"  IMPORT ERRORS: {parse.errors}" if parse.errors else "")
            )
        if "kedro-airflow" in parses:
            print(
                f"  parse ours / kedro-airflow ({mode}): "
                f"{_ratio(parses['ours'].wall, parses['kedro-airflow'].wall)} wall, "
                f"{_ratio(parses['ours'].cpu, parses['kedro-airflow'].cpu)} cpu"
            )
    _pods_table(result)


def _goal(text: str, met: bool | None) -> None:
    verdict = "n/a (size not run)" if met is None else ("met" if met else "NOT met")
    print(f"goal: {text}: {verdict}")


def _overhead(result: SizeResult, name: str) -> tuple[float, float]:
    """Wall and CPU seconds of command ``name`` beyond the bare load."""
    run, bare = result.runs[name], result.runs["bare load"]
    return run.wall - bare.wall, run.cpu - bare.cpu


def print_goals(results: dict[int, SizeResult]) -> None:
    print()
    big = results.get(10000)
    parsed = big is not None and "airflow" in big.parses
    _goal(
        "10,000-node ungrouped DAG parses in <= 10 s",
        None if not parsed else big.parses["airflow"]["ours"].wall <= 10.0,  # type: ignore[union-attr]
    )
    for size in (1000, 5000):
        parses = results[size].parses.get("airflow", {}) if size in results else {}
        _goal(
            f"{size}-node DAG parses in <= 0.5 x kedro-airflow's",
            None
            if "kedro-airflow" not in parses
            else parses["ours"].wall <= 0.5 * parses["kedro-airflow"].wall,
        )
    one = results.get(1000)
    for index, unit in enumerate(("wall", "CPU")):
        met = None
        if one is not None and "kedro-airflow" in one.runs:
            met = _overhead(one, "compile")[index] <= _overhead(one, "kedro-airflow")[index]
        _goal(f"1k compile overhead <= kedro-airflow create's ({unit})", met)
        _goal(
            f"10k compile overhead <= 1 s ({unit})",
            None if big is None else _overhead(big, "compile")[index] <= 1.0,
        )
    _goal(
        "10k compile peak RSS <= 1.5 x the bare load",
        None if big is None else big.runs["compile"].rss_mb <= 1.5 * big.runs["bare load"].rss_mb,
    )
    slow = [
        f"{size} nodes, {name}: {parse.wall:.1f} s"
        for size, result in results.items()
        for name, parse in result.parses.get("airflow", {}).items()
        if parse.wall > AIRFLOW_IMPORT_TIMEOUT
    ]
    if slow:
        print(f"above Airflow's default 30 s dagbag_import_timeout: {'; '.join(slow)}")


def print_imports(size: int, found: dict[str, Any]) -> None:
    print(f"\n== what compile imports beyond the bare load ({size} nodes, -X importtime) ==")
    print(
        f"bare load: {found['bare']} modules; compile: {found['extra']} more "
        f"({found['extra_ms']:.0f} ms of their own import time), of which "
        f"{found['plugin']} of kedro_airflow_k8s ({found['plugin_ms']:.0f} ms)"
    )
    print(f"other packages among them: {', '.join(found['packages']) or 'none'}")


def print_profile(size: int, profile: dict[str, Any]) -> None:
    print(f"\n== where compile spends its time ({size} nodes, cProfile of the command) ==")
    print(f"  {'the whole command (profiled)':<48} {profile['total']:>7.2f} s")
    for label in PROFILE_PARTS:
        value = profile["parts"].get(label)
        if value is not None:
            print(f"  {label:<48} {value:>7.2f} s")
    print("top functions by cumulative time:")
    for name, seconds in profile["top"]:
        print(f"  {seconds:>7.2f} s  {name}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command and parse")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="profile compile (largest size)")
    parser.add_argument("--keep", type=Path, default=None, help="an empty folder to work in")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        help="the src folder of another version of the plugin: its compile is timed beside",
    )
    parser.add_argument(
        "--no-parse", action="store_true", help="leave out the DAG parses (compile only)"
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count each command's instructions with valgrind (smallest size)",
    )
    parser.add_argument(
        "--fixtures",
        action="store_true",
        help="only the pods per strategy of the bundled example and the test projects",
    )
    parser.add_argument(
        "--strategies",
        nargs="+",
        choices=STRATEGIES,
        default=list(STRATEGIES),
        help="the group_by strategies of --fixtures (default: all)",
    )
    args = parser.parse_args(argv)
    if args.fixtures:
        with tempfile.TemporaryDirectory(prefix="kak8s-fixtures-") as temp:
            root = args.keep or Path(temp)
            root.mkdir(parents=True, exist_ok=True)
            env = environment(root / "airflow_home")
            print_fixture_pods(fixture_pods(root, env, args.strategies))
        return 0
    with_kedro_airflow = has_kedro_airflow()
    if not with_kedro_airflow:
        print(
            "kedro-airflow is not installed (pip install -r requirements/bench.txt): "
            "its columns are left out"
        )
    with tempfile.TemporaryDirectory(prefix="kak8s-scale-") as temp:
        root = args.keep or Path(temp)
        root.mkdir(parents=True, exist_ok=True)
        env = environment(root / "airflow_home")
        results: dict[int, SizeResult] = {}
        for size in args.sizes:
            work = root / f"work_{size}"
            work.mkdir()
            project = write_project(root, size, args.seed)
            runs, rounds = time_commands(
                project, work, env, args.repeat, with_kedro_airflow, args.baseline_src
            )
            dag_files = {"ours": next((work / "ours").glob("*.py"))}
            if with_kedro_airflow:
                dag_files["kedro-airflow"] = next((work / "kedro_airflow").glob("*.py"))
            parses = {
                mode: {
                    name: parse_dag(path, mode, work, env, args.repeat)
                    for name, path in dag_files.items()
                }
                for mode in ([] if args.no_parse else PARSE_MODES)
            }
            results[size] = SizeResult(
                size,
                runs,
                parses,
                project_pods(project, env),
                synthetic_pods(size, args.seed),
                rounds,
            )
            print_size(results[size])
        print_goals(results)
        smallest, largest = min(args.sizes), max(args.sizes)
        print_imports(smallest, compile_imports(root / f"scale_{smallest}", root, env))
        if args.instructions:
            counts = instructions(
                root / f"scale_{smallest}", root / f"work_{smallest}", env, args.baseline_src
            )
            print_instructions(smallest, counts)
        if args.profile:
            profile = profile_compile(root / f"scale_{largest}", root / f"work_{largest}", env)
            print_profile(largest, profile)
        print("\nparse modes: " + "; ".join(f"{m}: {d}" for m, d in PARSE_MODES.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
