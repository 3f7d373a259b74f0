"""Local folders: write beside, then rename; readers never see half a file."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s.errors import PluginError, RemoteError
from kedro_airflow_k8s.ship import (
    upload_files,
    upload_text,
    write_local_atomic,
    write_local_files,
)


def big_module(tag: str, lines: int = 40_000) -> str:
    """About 1.5 MB of Python whose last line says it is complete."""
    body = "".join(f"x_{i} = {tag!r}  # padding padding\n" for i in range(lines))
    return f"# start {tag}\n{body}# end {tag}\n"


def test_plain_path_creates_folders_and_returns_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    written = upload_text("airflow/dags", "my_dag.py", "print('hi')\n")
    assert written == str(tmp_path / "airflow" / "dags" / "my_dag.py")
    path = Path(written)
    assert path.read_bytes() == b"print('hi')\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.listdir(path.parent) == ["my_dag.py"]


def test_file_url_and_path_like(tmp_path: Path) -> None:
    assert upload_text(f"file://{tmp_path}/a", "d.py", "A") == str(tmp_path / "a" / "d.py")
    assert upload_text(tmp_path / "b", "d.py", "B") == str(tmp_path / "b" / "d.py")
    assert (tmp_path / "a" / "d.py").read_text() == "A"
    assert (tmp_path / "b" / "d.py").read_text() == "B"


def test_text_is_utf8_with_unix_line_ends(tmp_path: Path) -> None:
    upload_text(tmp_path, "d.py", "s = 'żółw'\r\nt = 1\n")
    assert (tmp_path / "d.py").read_bytes() == "s = 'żółw'\r\nt = 1\n".encode()


def test_overwrite_replaces_content(tmp_path: Path) -> None:
    upload_text(tmp_path, "d.py", "old = 1\n" * 1000)
    upload_text(tmp_path, "d.py", "new = 2\n")
    assert (tmp_path / "d.py").read_text() == "new = 2\n"
    assert os.listdir(tmp_path) == ["d.py"]


def test_upload_files_writes_each_file_with_sub_folders(tmp_path: Path) -> None:
    written = upload_files(
        tmp_path / "dags",
        {"spark/job.py": "print(1)\n", "spark/deps.zip": b"PK\x03\x04\x00\xff", "dag.py": "d\n"},
    )
    assert written == {
        "spark/job.py": str(tmp_path / "dags" / "spark" / "job.py"),
        "spark/deps.zip": str(tmp_path / "dags" / "spark" / "deps.zip"),
        "dag.py": str(tmp_path / "dags" / "dag.py"),
    }
    assert (tmp_path / "dags" / "spark" / "deps.zip").read_bytes() == b"PK\x03\x04\x00\xff"
    assert list(written) == ["spark/job.py", "spark/deps.zip", "dag.py"]


def test_concurrent_reader_sees_old_or_new_file_never_half(tmp_path: Path) -> None:
    versions = [big_module("alpha"), big_module("beta", lines=30_000)]
    target = tmp_path / "dags" / "big_dag.py"
    upload_text(target.parent, target.name, versions[0])
    stop = threading.Event()
    seen: dict[str, int] = {}
    bad: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            text = target.read_text()
            if text not in versions:
                bad.append(f"{len(text)} chars, ends with {text[-40:]!r}")
                return
            seen[text[:13]] = seen.get(text[:13], 0) + 1

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    writes = 0
    while writes < 40 and time.monotonic() < deadline and not bad:
        upload_text(target.parent, target.name, versions[writes % 2])
        writes += 1
    stop.set()
    thread.join(10)
    assert not bad, bad[0]
    assert writes >= 10
    assert sum(seen.values()) >= 2, seen  # the reader did run while the writes went on
    assert os.listdir(target.parent) == [target.name]


class _BrokenHandle:
    """Writes half of what it is given, then fails like a full disk or Ctrl-C."""

    def __init__(self, real: Any, error: BaseException) -> None:
        self.real, self.error = real, error

    def __enter__(self) -> _BrokenHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.real.close()

    def write(self, data: bytes) -> int:
        self.real.write(data[: len(data) // 2])
        self.real.flush()
        raise self.error


@pytest.mark.parametrize(
    "error", [KeyboardInterrupt(), OSError(28, "No space left on device")], ids=repr
)
def test_interrupted_write_keeps_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    upload_text(tmp_path, "d.py", "old = 1\n")
    real_fdopen = os.fdopen
    monkeypatch.setattr(
        os, "fdopen", lambda fd, *a, **k: _BrokenHandle(real_fdopen(fd, *a, **k), error)
    )
    if isinstance(error, KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            upload_text(tmp_path, "d.py", "new = 2\n" * 10_000)
    else:
        with pytest.raises(PluginError) as caught:
            upload_text(tmp_path, "d.py", "new = 2\n" * 10_000)
        assert caught.value.message == (
            f"cannot write {tmp_path / 'd.py'}: No space left on device"
        )
    assert (tmp_path / "d.py").read_text() == "old = 1\n"
    assert os.listdir(tmp_path) == ["d.py"]


def test_interrupted_rename_keeps_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload_text(tmp_path, "d.py", "old = 1\n")

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_local_atomic(tmp_path / "d.py", "new = 2\n")
    assert (tmp_path / "d.py").read_text() == "old = 1\n"
    assert os.listdir(tmp_path) == ["d.py"]


def test_folder_that_is_a_file_is_a_clean_error(tmp_path: Path) -> None:
    (tmp_path / "dags").write_text("not a folder")
    with pytest.raises(RemoteError) as caught:
        upload_text(tmp_path / "dags", "d.py", "x")
    assert caught.value.message == (
        f"cannot write {tmp_path / 'dags' / 'd.py'}: {tmp_path / 'dags'} is not a folder"
    )
    assert isinstance(caught.value.__cause__, FileExistsError)  # the cause is kept


def test_the_message_names_the_file_that_stands_where_a_folder_should_be(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(RemoteError) as caught:
        write_local_files(tmp_path / "a-file" / "x" / "dags", {"d.py": "x"})
    assert caught.value.message == (
        f"cannot write {tmp_path / 'a-file' / 'x' / 'dags' / 'd.py'}: "
        f"{tmp_path / 'a-file'} is not a folder"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_folder_where_the_file_should_be_is_named_and_no_temporary_file_stays(
    tmp_path: Path,
) -> None:
    (tmp_path / "d.py").mkdir()
    with pytest.raises(RemoteError) as caught:
        upload_text(tmp_path, "d.py", "x")
    assert (
        caught.value.message == f"cannot write {tmp_path / 'd.py'}: {tmp_path / 'd.py'} is a folder"
    )
    assert os.listdir(tmp_path) == ["d.py"]


def test_the_longest_dag_file_name_is_written(tmp_path: Path) -> None:
    # A DAG id takes up to 250 characters; its file name and the temporary name next to it must
    # both fit the 255 bytes a file name has on common file systems.
    name = "d" * 250 + ".py"
    assert upload_text(tmp_path, name, "x = 1\n") == str(tmp_path / name)
    assert os.listdir(tmp_path) == [name]


@pytest.mark.parametrize("name", ["", "/etc/d.py", "../d.py", "a/../d.py", "a/", "a\\b.py", "./d"])
def test_file_name_must_stay_inside_the_destination(tmp_path: Path, name: str) -> None:
    with pytest.raises(PluginError, match="must be a relative path inside it"):
        upload_text(tmp_path, name, "x")
    assert os.listdir(tmp_path) == []
