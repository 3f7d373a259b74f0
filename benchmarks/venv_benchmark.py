"""Time making the Airflow matrix virtualenvs of the tests: pip (as the tests did before) against
uv starting with an empty cache (a fresh CI machine; the cells share it, as in a test session)
and uv again once that cache is filled.

Every virtualenv is made from the same lock file in requirements/airflow-matrix, in a temporary
folder, side by side in one run; pip gets no cache (``--no-cache-dir``), uv the package index
settings pip is configured with (tests/venvs.py). The script prints the seconds of each and the
ratios against pip.

    .venv/bin/python benchmarks/venv_benchmark.py [--cells airflow-3.0.0-k8s-10.0.0,...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests import venvs  # noqa: E402

DEFAULT_CELLS = "airflow-3.0.0-k8s-10.0.0,airflow-2.10.5-k8s-10.0.0"


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=1800)
    return time.perf_counter() - start


def with_pip(lock: Path, target: Path) -> float:
    env = dict(os.environ)
    python = target / "bin" / "python"
    return timed([sys.executable, "-m", "venv", str(target)], env) + timed(
        [str(python), "-m", "pip", "install", "-q", "--no-cache-dir", "-r", str(lock)], env
    )


def with_uv(uv: str, lock: Path, target: Path, cache: Path) -> float:
    env = dict(os.environ)
    env.update(venvs.uv_environment(venvs.parse_pip_config(venvs.pip_config_listing()), env))
    env.update({"UV_CACHE_DIR": str(cache), "UV_PYTHON_DOWNLOADS": "never"})
    python = target / "bin" / "python"
    return timed(
        [uv, "venv", "--quiet", "--seed", "--python", sys.executable, str(target)], env
    ) + timed([uv, "pip", "install", "--quiet", "--python", str(python), "-r", str(lock)], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default=DEFAULT_CELLS, help="comma separated cell names")
    cells = parser.parse_args().cells.split(",")
    uv = venvs.find_uv()
    if uv is None:
        sys.exit("uv is not installed: pip install -r requirements/test.txt")
    os.environ["KEDRO_DISABLE_TELEMETRY"] = "true"
    with tempfile.TemporaryDirectory(prefix="kak8s-venv-bench-") as folder:
        root = Path(folder)
        cache = root / "uv-cache"
        print(
            f"{'cell':32} {'pip':>8} {'uv cold':>8} {'uv warm':>8} {'cold/pip':>9} {'warm/pip':>9}"
        )
        totals = [0.0, 0.0, 0.0]
        for cell in cells:
            lock = venvs.MATRIX / f"{cell}.txt"
            pip = with_pip(lock, root / f"pip-{cell}")
            cold = with_uv(uv, lock, root / f"uv-cold-{cell}", cache)
            warm = with_uv(uv, lock, root / f"uv-warm-{cell}", cache)
            for index, seconds in enumerate((pip, cold, warm)):
                totals[index] += seconds
            print(
                f"{cell:32} {pip:8.1f} {cold:8.1f} {warm:8.1f} {cold / pip:9.2f} {warm / pip:9.2f}"
            )
        pip, cold, warm = totals
        print(
            f"{'total':32} {pip:8.1f} {cold:8.1f} {warm:8.1f} {cold / pip:9.2f} {warm / pip:9.2f}"
        )


if __name__ == "__main__":
    main()
