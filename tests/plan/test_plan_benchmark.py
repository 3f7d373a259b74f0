"""The benchmark script runs (on small sizes) and its synthetic pipelines plan cleanly."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from kedro_airflow_k8s.plan import build_plan

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "plan_benchmark.py"


@pytest.fixture(scope="module")
def bench_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("plan_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_benchmark_runs_on_small_sizes(
    bench_script: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_script.main(["--sizes", "200", "400", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^catalog +200 ", out, re.MULTILINE)
    assert re.search(r"^memory +400 ", out, re.MULTILINE)
    assert "render" in out


def test_synthetic_pipelines_are_seeded_and_plan(bench_script: ModuleType) -> None:
    for scenario in bench_script.SCENARIOS:
        first = bench_script.synthetic_pipeline(800, 3, scenario.memory_share)
        assert first == bench_script.synthetic_pipeline(800, 3, scenario.memory_share)
        plan = build_plan(first.pipeline, first.datasets, scenario.options)
        assert sum(len(t.nodes) for t in plan.tasks) == 800
