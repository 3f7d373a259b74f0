"""Two processes uploading the same DAG at once: the file is always one whole version, and the
last upload to finish wins (local folder, S3 emulator, GCS emulator).

Each writer is a separate Python process calling :func:`ship.upload_text` in a loop, started
together; the test reads the file meanwhile. Both writers note when each upload started and
ended (CLOCK_MONOTONIC is one clock for all processes on Linux), so the final content can be
checked against the order of the last uploads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

NAME = "shared_dag.py"

WRITER = textwrap.dedent(
    """
    import json
    import pathlib
    import sys
    import time

    from kedro_airflow_k8s.ship import upload_text

    destination, name, tag, count, go, log = sys.argv[1:7]
    lines = 30_000 if tag == "alpha" else 20_000
    body = "".join(f"x_{i} = {tag!r}  # padding padding\\n" for i in range(lines))
    text = f"# start {tag}\\n{body}# end {tag}\\n"
    limit = time.monotonic() + 120
    while not pathlib.Path(go).exists():
        if time.monotonic() > limit:
            sys.exit("never started")
        time.sleep(0.005)
    spans = []
    for _ in range(int(count)):
        started = time.monotonic()
        upload_text(destination, name, text)
        spans.append([started, time.monotonic()])
    pathlib.Path(log).write_text(json.dumps(spans))
    """
)


def version(tag: str) -> bytes:
    lines = 30_000 if tag == "alpha" else 20_000
    body = "".join(f"x_{i} = {tag!r}  # padding padding\n" for i in range(lines))
    return f"# start {tag}\n{body}# end {tag}\n".encode()


VERSIONS = {version("alpha"): "alpha", version("beta"): "beta"}


def race(
    tmp_path: Path, destination: str, count: int, read: Callable[[], bytes], env: dict[str, str]
) -> tuple[list[str], dict[str, list[list[float]]]]:
    """Start the two writers together; return what the reader saw and each writer's spans."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    go = tmp_path / "go"
    writers = {
        tag: subprocess.Popen(
            [
                sys.executable,
                str(script),
                destination,
                NAME,
                tag,
                str(count),
                str(go),
                str(tmp_path / tag),
            ],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("alpha", "beta")
    }
    seen: list[str] = []
    try:
        time.sleep(1.0)  # both interpreters up and waiting
        go.write_text("go")
        deadline = time.monotonic() + 300
        while any(w.poll() is None for w in writers.values()):
            assert time.monotonic() < deadline, "the writers did not finish in 300 s"
            content = read()
            seen.append(VERSIONS.get(content, f"torn: {len(content)} bytes"))
    finally:
        for writer in writers.values():
            if writer.poll() is None:
                writer.kill()
            _, err = writer.communicate(timeout=60)
            assert writer.returncode == 0, err[-2000:]
    spans = {tag: json.loads((tmp_path / tag).read_text()) for tag in writers}
    return seen, spans


def check(seen: list[str], spans: dict[str, Any], final: bytes) -> None:
    assert seen, "the reader never ran"
    torn = [s for s in seen if s.startswith("torn")]
    assert not torn, torn[:3]
    winner = VERSIONS.get(final)
    assert winner is not None, f"final file is torn: {len(final)} bytes"
    other = "beta" if winner == "alpha" else "alpha"
    # Had the other writer's last upload started after the winner's last one ended, it would
    # have replaced it: the final content would be the other's.
    assert spans[other][-1][0] <= spans[winner][-1][1], spans
    # The uploads did overlap in time: this is a race, not two writers taking turns.
    overlapping = any(a[0] < b[1] and b[0] < a[1] for a in spans["alpha"] for b in spans["beta"])
    assert overlapping, spans


def test_local_folder(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / NAME).write_bytes(version("beta"))
    seen, spans = race(tmp_path, str(folder), 40, (folder / NAME).read_bytes, {})
    check(seen, spans, (folder / NAME).read_bytes())
    assert os.listdir(folder) == [NAME]  # no temporary file left by either writer


def test_s3(tmp_path: Path, aws_env: None, moto_server: str) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=moto_server, skip_instance_cache=True)
    bucket = f"kak8s-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    fs.pipe_file(f"{bucket}/dags/{NAME}", version("beta"))
    path = f"{bucket}/dags/{NAME}"
    env = {"AWS_ENDPOINT_URL": moto_server}
    seen, spans = race(tmp_path, f"s3://{bucket}/dags", 10, lambda: fs.cat_file(path), env)
    check(seen, spans, fs.cat_file(path))
    assert fs.find(bucket) == [path]


def test_gcs(tmp_path: Path, gcs_env: None, gcs_emulator: str) -> None:
    import gcsfs.core

    from tests.ship.conftest import GCS_BUCKET

    fs = gcsfs.core.GCSFileSystem(endpoint_url=gcs_emulator, token="anon", skip_instance_cache=True)
    prefix = f"{GCS_BUCKET}/{uuid.uuid4().hex[:12]}"
    path = f"{prefix}/{NAME}"
    fs.pipe_file(path, version("beta"))
    env = {"STORAGE_EMULATOR_HOST": gcs_emulator}
    seen, spans = race(tmp_path, f"gs://{prefix}", 10, lambda: fs.cat_file(path), env)
    check(seen, spans, fs.cat_file(path))
    assert fs.find(prefix) == [path]
