"""Turn kedro-mlflow on in a copy of the example project (see tests/data/mlflow_overlay)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import REPO

OVERLAY = REPO / "tests" / "data" / "mlflow_overlay"
ENV_PLACEHOLDER = "_env_"
EXPERIMENT = "spaceflights-mlflow"  # tracking.experiment.name in the overlay's base mlflow.yml
_NOT_COPIED = {"README.md", "settings_tail.py"}


def apply_mlflow_overlay(project: Path, env: str, tracking_uri: str) -> None:
    """Copy the overlay into ``project`` (``conf/_env_`` becomes ``conf/<env>``), point
    ``conf/<env>/mlflow.yml`` at ``tracking_uri`` and enable kedro-mlflow's hook."""
    for path in sorted(OVERLAY.rglob("*")):
        if path.is_dir() or path.name in _NOT_COPIED:
            continue
        parts = path.relative_to(OVERLAY).parts
        target = project.joinpath(*(env if part == ENV_PLACEHOLDER else part for part in parts))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    (project / "conf" / env / "mlflow.yml").write_text(
        f"server:\n  mlflow_tracking_uri: {tracking_uri}\n"
    )
    settings = project / "src" / "spaceflights" / "settings.py"
    tail = (OVERLAY / "settings_tail.py").read_text()
    settings.write_text(settings.read_text().rstrip("\n") + "\n\n" + tail)
