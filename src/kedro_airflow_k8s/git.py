"""Reading facts from the git checkout a project lives in (never failing: None when unknown)."""

from __future__ import annotations

import os
import subprocess


def git_output(path: str | os.PathLike[str], *args: str) -> str | None:
    """The stripped output of ``git ARGS`` run in ``path``; None on any failure or no output."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=path, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
