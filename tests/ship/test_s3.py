"""s3:// destinations against a loopback moto server (its own virtualenv) through s3fs."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from kedro_airflow_k8s.errors import PluginError
from kedro_airflow_k8s.ship import upload_files, upload_text
from tests.ship.conftest import free_port

pytestmark = pytest.mark.venv("moto")


def new_bucket(endpoint: str) -> tuple[Any, str]:
    """A fresh bucket on the emulator and an s3fs client to look at it."""
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True)
    bucket = f"kak8s-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    return fs, bucket


def test_upload_read_back_and_overwrite(aws_env: None, moto_server: str) -> None:
    fs, bucket = new_bucket(moto_server)
    options = {"endpoint_url": moto_server}
    written = upload_text(f"s3://{bucket}/airflow/dags", "d.py", "v = 1\n", storage_options=options)
    assert written == f"s3://{bucket}/airflow/dags/d.py"
    assert fs.cat_file(f"{bucket}/airflow/dags/d.py") == b"v = 1\n"

    upload_text(f"s3://{bucket}/airflow/dags/", "d.py", "v = 'żółw'\n", storage_options=options)
    fs.invalidate_cache()
    assert fs.cat_file(f"{bucket}/airflow/dags/d.py") == "v = 'żółw'\n".encode()
    assert fs.find(bucket) == [f"{bucket}/airflow/dags/d.py"]


def test_endpoint_from_aws_endpoint_url(
    aws_env: None, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs, bucket = new_bucket(moto_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    assert upload_text(f"s3://{bucket}", "d.py", "x = 1\n") == f"s3://{bucket}/d.py"
    assert fs.cat_file(f"{bucket}/d.py") == b"x = 1\n"


def test_upload_files_and_large_content_in_one_put(
    aws_env: None, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    calls: list[str] = []
    real_call = s3fs.S3FileSystem._call_s3

    async def spy(self: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(method)
        return await real_call(self, method, *args, **kwargs)

    fs, bucket = new_bucket(moto_server)
    monkeypatch.setattr(s3fs.S3FileSystem, "_call_s3", spy)
    # Over s3fs's own multipart threshold (2 x 50 MiB): still one PutObject.
    big = b"#" * (101 * 2**20)
    files: dict[str, bytes | str] = {"spark/deps.zip": big, "spark/job.py": "j\n", "dag.py": "d\n"}
    written = upload_files(
        f"s3://{bucket}/dags", files, storage_options={"endpoint_url": moto_server}
    )
    assert written == {name: f"s3://{bucket}/dags/{name}" for name in files}
    assert calls == ["put_object"] * 3
    assert fs.cat_file(f"{bucket}/dags/spark/job.py") == b"j\n"
    assert fs.cat_file(f"{bucket}/dags/dag.py") == b"d\n"
    assert fs.size(f"{bucket}/dags/spark/deps.zip") == len(big)


def test_missing_bucket_is_a_clean_error(aws_env: None, moto_server: str) -> None:
    with pytest.raises(PluginError) as caught:
        upload_text(
            "s3://no-such-bucket-kak8s/dags",
            "d.py",
            "x",
            storage_options={"endpoint_url": moto_server},
        )
    assert caught.value.message.startswith(
        "cannot write s3://no-such-bucket-kak8s/dags/d.py: bucket 'no-such-bucket-kak8s' "
        "does not exist or is not visible with these credentials"
    )
    assert "\n" not in caught.value.message


def test_access_denied_is_a_clean_error(aws_env: None, moto_server_with_auth: str) -> None:
    with pytest.raises(PluginError) as caught:
        upload_text(
            "s3://some-bucket/dags",
            "d.py",
            "x",
            storage_options={"endpoint_url": moto_server_with_auth},
        )
    message = caught.value.message
    assert message.startswith("cannot write s3://some-bucket/dags/d.py: access denied"), message
    assert "\n" not in message


def test_unreachable_endpoint_is_a_clean_error(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    monkeypatch.setattr(s3fs.S3FileSystem, "retries", 1)  # s3fs's own retry loop (default 5)
    closed = f"http://127.0.0.1:{free_port()}"
    options = {
        "endpoint_url": closed,
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1},
    }
    with pytest.raises(PluginError) as caught:
        upload_text("s3://b-kak8s/dags", "d.py", "x", storage_options=options)
    message = caught.value.message
    assert message.startswith(
        "cannot write s3://b-kak8s/dags/d.py: cannot connect to the storage endpoint"
    ), message
    assert closed in message
