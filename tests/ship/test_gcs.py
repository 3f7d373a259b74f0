"""gs:// and gcs:// destinations against a loopback gcp-storage-emulator through gcsfs."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import pytest

from kedro_airflow_k8s.errors import PluginError
from kedro_airflow_k8s.ship import upload_files, upload_text
from tests.ship.conftest import GCS_BUCKET


def reader(endpoint: str) -> Any:
    import gcsfs.core

    return gcsfs.core.GCSFileSystem(endpoint_url=endpoint, token="anon", skip_instance_cache=True)


def prefix() -> str:
    return f"dags-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("scheme", ["gs", "gcs"])
def test_upload_read_back_and_overwrite(gcs_env: None, gcs_emulator: str, scheme: str) -> None:
    folder = f"{GCS_BUCKET}/{prefix()}"
    options = {"endpoint_url": gcs_emulator, "token": "anon"}
    written = upload_text(f"{scheme}://{folder}", "d.py", "v = 1\n", storage_options=options)
    assert written == f"{scheme}://{folder}/d.py"
    fs = reader(gcs_emulator)
    assert fs.cat_file(f"{folder}/d.py") == b"v = 1\n"

    upload_text(f"{scheme}://{folder}", "d.py", "v = 'żółw'\n", storage_options=options)
    fs.invalidate_cache()
    assert fs.cat_file(f"{folder}/d.py") == "v = 'żółw'\n".encode()
    assert fs.find(folder) == [f"{folder}/d.py"]


def test_storage_emulator_host_alone_is_enough_and_fast(
    gcs_env: None, gcs_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No options, no credentials: STORAGE_EMULATOR_HOST means anonymous, and no gRPC probe."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    folder = f"{GCS_BUCKET}/{prefix()}"
    started = time.monotonic()
    assert upload_text(f"gs://{folder}", "d.py", "x = 1\n") == f"gs://{folder}/d.py"
    assert time.monotonic() - started < 10  # the bucket-type probe would take 60 s
    assert reader(gcs_emulator).cat_file(f"{folder}/d.py") == b"x = 1\n"


def test_upload_files_and_large_content_in_one_request(
    gcs_env: None, gcs_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gcsfs.core

    def no_resumable(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a resumable (multi-request) upload was started")

    monkeypatch.setattr(gcsfs.core, "initiate_upload", no_resumable)
    folder = f"{GCS_BUCKET}/{prefix()}"
    big = b"#" * (51 * 2**20)  # over gcsfs's own resumable-upload threshold (50 MiB)
    files: dict[str, bytes | str] = {"spark/deps.zip": big, "dag.py": "d\n"}
    options = {"endpoint_url": gcs_emulator, "token": "anon"}
    written = upload_files(f"gcs://{folder}", files, storage_options=options)
    assert written == {name: f"gcs://{folder}/{name}" for name in files}
    fs = reader(gcs_emulator)
    assert fs.cat_file(f"{folder}/dag.py") == b"d\n"
    assert fs.size(f"{folder}/spark/deps.zip") == len(big)


def test_missing_bucket_is_a_clean_error(gcs_env: None, gcs_emulator: str) -> None:
    with pytest.raises(PluginError) as caught:
        upload_text(
            "gs://no-such-bucket-kak8s/dags",
            "d.py",
            "x",
            storage_options={"endpoint_url": gcs_emulator, "token": "anon"},
        )
    assert caught.value.message.startswith(
        "cannot write gs://no-such-bucket-kak8s/dags/d.py: bucket 'no-such-bucket-kak8s' "
        "does not exist or is not visible with these credentials"
    )
    assert "\n" not in caught.value.message


ANONYMOUS = "Anonymous caller does not have storage.objects.create access to the object."


@pytest.mark.parametrize(
    ("refusing_server", "detail"),
    [
        ((401, ANONYMOUS), ANONYMOUS),
        ((403, "Access denied."), "Forbidden: "),
    ],
    indirect=["refusing_server"],
    ids=["401", "403"],
)
def test_refused_write_is_one_line_without_traceback(
    gcs_env: None, refusing_server: str, detail: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="gcsfs")
    with pytest.raises(PluginError) as caught:
        upload_text(
            "gs://bkt-kak8s/dags",
            "d.py",
            "x",
            storage_options={"endpoint_url": refusing_server, "token": "anon"},
        )
    message = caught.value.message
    assert message.startswith(
        "cannot write gs://bkt-kak8s/dags/d.py: access denied, check the credentials ("
    ), message
    assert detail in message
    assert "\n" not in message
    # gcsfs logs the 401 with a traceback (logger.exception) before raising: not on our watch.
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
