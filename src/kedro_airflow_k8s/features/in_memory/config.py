"""The keys of in-memory data kept in per-run storage: ``run_config.in_memory``."""

from __future__ import annotations

import re

from pydantic import Field, StrictStr, field_validator

from kedro_airflow_k8s.config.base import OnUseModel
from kedro_airflow_k8s.features.in_memory import IN_MEMORY_ON_VOLUME

_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class InMemoryConfig(OnUseModel):
    """Where in-memory datasets that cross pods are kept while a DAG run lasts.

    With this section, `compile` no longer refuses an in-memory dataset (no catalog entry, or a
    `MemoryDataset`) that one task writes and another reads: the plugin's Kedro hook in the pods
    saves it to the run's storage and loads it from there. The image needs kedro-airflow-k8s and
    kedro-datasets installed (see [in-memory data](grouping.md#in-memory-data)).
    """

    storage: StrictStr = Field(
        description="`volume` (the run's volume, see run_config.volume), an fsspec URL such as "
        "`gs://bucket/prefix` or `s3://bucket/prefix`, or an absolute folder every pod mounts; "
        "each dataset is kept at `<storage>/<dag id>/<run id>/<dataset>.pickle`."
    )

    @field_validator("storage")
    @classmethod
    def _storage(cls, value: str) -> str:
        if value == IN_MEMORY_ON_VOLUME:
            return value
        if not value.strip() or any(not ch.isprintable() for ch in value):
            raise ValueError(f"{value!r} must be `volume`, a URL or an absolute folder")
        scheme = _URL_SCHEME.match(value)
        if scheme is None:
            if not value.startswith("/"):
                raise ValueError(
                    f"{value!r} is a relative path: give `volume`, a URL such as "
                    "gs://bucket/prefix or an absolute folder every pod mounts"
                )
            return value.rstrip("/") or "/"
        from fsspec.registry import known_implementations

        protocol = scheme.group(1).lower()
        if protocol == "memory":
            raise ValueError(
                f"{value!r}: fsspec's memory:// lives inside one process; give storage every "
                "pod of the run reads"
            )
        if protocol not in known_implementations:
            raise ValueError(f"{value!r}: fsspec knows no protocol {protocol!r}")
        return value.rstrip("/")
