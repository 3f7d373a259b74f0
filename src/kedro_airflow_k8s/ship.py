"""Writing rendered files where Airflow reads them, so no reader ever sees half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_local_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file beside it and a rename.

    A reader sees the old file or the new one, never a partial one; on any failure the old
    file is left as it was and the temporary file is removed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path
