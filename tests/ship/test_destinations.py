"""Destination parsing, unsupported schemes and missing extras (no server needed)."""

from __future__ import annotations

import sys

import pytest

from kedro_airflow_k8s.errors import PluginError
from kedro_airflow_k8s.ship import Destination, parse_destination, upload_files, upload_text


@pytest.mark.parametrize(
    ("text", "scheme", "root"),
    [
        ("dags", "", "dags"),
        ("/opt/airflow/dags", "", "/opt/airflow/dags"),
        ("file:///opt/airflow/dags", "", "/opt/airflow/dags"),
        ("file://localhost/opt/dags", "", "/opt/dags"),
        ("file://dags", "", "dags"),
        ("s3://bucket", "s3", "bucket"),
        ("s3://bucket/", "s3", "bucket"),
        ("S3://bucket//a//b/", "s3", "bucket/a/b"),
        ("gs://bucket/composer/dags", "gs", "bucket/composer/dags"),
        ("gcs://bucket/dags", "gcs", "bucket/dags"),
    ],
)
def test_parse_destination(text: str, scheme: str, root: str) -> None:
    assert parse_destination(text) == Destination(scheme, root, text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "hdfs://nn/dags",
            "unsupported destination scheme 'hdfs://' in 'hdfs://nn/dags': "
            "use a local folder, file://, s3://, gs:// or gcs://",
        ),
        (
            "s3a://bucket/dags",
            "unsupported destination scheme 's3a://' in 's3a://bucket/dags': "
            "use a local folder, file://, s3://, gs:// or gcs://",
        ),
        ("s3://", "no bucket in destination 's3://': use s3://bucket/prefix"),
        ("gs:///dags", "no bucket in destination 'gs:///dags': use gs://bucket/prefix"),
        ("file://", "no folder in destination 'file://': use file:///path/to/dags"),
        ("  ", "empty destination: use a local folder, file://, s3://, gs:// or gcs://"),
    ],
)
def test_bad_destination_is_a_one_line_error(text: str, message: str) -> None:
    with pytest.raises(PluginError) as caught:
        upload_text(text, "d.py", "x")
    assert caught.value.message == message
    assert caught.value.exit_code != 0


@pytest.mark.parametrize(
    ("scheme", "module", "extra"),
    [("s3", "s3fs", "aws"), ("gs", "gcsfs", "gcp"), ("gcs", "gcsfs", "gcp")],
)
def test_missing_extra(
    monkeypatch: pytest.MonkeyPatch, scheme: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # "import <module>" now raises ImportError
    with pytest.raises(PluginError) as caught:
        upload_files(f"{scheme}://bucket/dags", {"d.py": "x"})
    assert caught.value.message == (
        f"{scheme}:// outputs need the {extra} extra: pip install 'kedro-airflow-k8s[{extra}]'"
    )


def test_bad_file_name_is_checked_before_any_write() -> None:
    with pytest.raises(PluginError) as caught:
        upload_files("s3://bucket/dags", {"ok.py": "x", "../escape.py": "y"})
    assert caught.value.message == (
        "file name '../escape.py' for 's3://bucket/dags' must be a relative path inside it"
    )
