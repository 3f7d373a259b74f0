"""Time `compile` on the bundled example against a bare Kedro load of the same project.

Both are measured in fresh Python processes (as a user pays for them), alternating, in the same
run; the script prints the median of each, the difference and the ratio.

    .venv/bin/python benchmarks/compile_benchmark.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "spaceflights"

BARE = """
from pathlib import Path
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
project = Path.cwd()
bootstrap_project(project)
with KedroSession.create(project_path=project, env="local") as session:
    context = session.load_context()
    context.config_loader["catalog"]
    context.params
    assert pipelines["__default__"].nodes
"""

COMPILE = """
import sys
from pathlib import Path
from kedro_airflow_k8s import stages
project = Path.cwd()
loaded = stages.load(project, "local", ("__default__",))
compiled = stages.compile_pipeline(loaded, "__default__")
stages.write_dag(compiled, Path(sys.argv[1]))
"""


def _time(code: str, cwd: Path, *args: str) -> float:
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, check=True, capture_output=True
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        project = Path(temp) / "spaceflights"
        shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("dag", "__pycache__"))
        out = Path(temp) / "dags"
        _time(BARE, project)  # warm the file system caches once
        bare, compiled = [], []
        for _ in range(options.repeat):
            bare.append(_time(BARE, project))
            compiled.append(_time(COMPILE, project, str(out)))
    b, c = statistics.median(bare), statistics.median(compiled)
    print(f"runs each:                  {options.repeat}")
    print(f"bare Kedro project load:    {b:.3f} s (median)")
    print(f"compile (load+plan+render): {c:.3f} s (median)")
    print(f"difference:                 {c - b:+.3f} s")
    print(f"ratio compile / bare load:  {c / b:.2f}")


if __name__ == "__main__":
    main()
