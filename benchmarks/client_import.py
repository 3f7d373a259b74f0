"""Import time of the plugin's Airflow client against apache-airflow-client 3.x's generated one.

Each is imported in a fresh Python process (``python -X importtime``), alternating, after the
modules both share (pydantic, urllib3, the plugin's config models) are imported, so only what
each client adds is counted. Prints the median of each and their ratio.

    .venv/bin/python benchmarks/client_import.py [--repeat 7]

The generated client is not a dependency of the plugin: it is measured only when installed.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys

SHARED = "import pydantic, urllib3, kedro_airflow_k8s.config.models"
CANDIDATES = {
    "kedro_airflow_k8s.airflow_api + operate": "import kedro_airflow_k8s.operate",
    "airflow_client.client (generated, 3.x)": "import airflow_client.client",
}


def _added_seconds(statement: str) -> float:
    """Cumulative import time of what ``statement`` imports beyond the shared modules."""
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"{SHARED}\n{statement}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    module = statement.split()[-1]
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)$", line)
        if match and match.group(2) == module:
            return int(match.group(1)) / 1e6
    raise RuntimeError(f"{module} not in the import-time report")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    available = {}
    for name, statement in CANDIDATES.items():
        probe = subprocess.run([sys.executable, "-c", statement], capture_output=True, check=False)
        if probe.returncode == 0:
            available[name] = statement
        else:
            print(f"{name}: not installed, skipped")
    times: dict[str, list[float]] = {name: [] for name in available}
    for _ in range(args.repeat):
        for name, statement in available.items():
            times[name].append(_added_seconds(statement))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name}: {median * 1000:.0f} ms (median of {args.repeat})")
    if len(medians) == 2:
        ours, generated = medians.values()
        print(f"generated / ours: {generated / ours:.1f}x")


if __name__ == "__main__":
    main()
