"""The keys of the per-run data volume: ``run_config.volume``."""

from __future__ import annotations

import posixpath
from typing import Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr, field_validator

from kedro_airflow_k8s.config.base import INT32_MAX, OnUseModel, check_object_name, check_quantity

AccessMode = Literal["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany", "ReadWriteOncePod"]


class VolumeConfig(OnUseModel):
    """A PersistentVolumeClaim created per DAG run and shared by its node pods."""

    storageclass: StrictStr | None = Field(
        None, description="Storage class; empty uses the cluster's default."
    )
    size: StrictStr = Field("1Gi", description="Requested size of the volume.")
    access_modes: list[AccessMode] = Field(
        default_factory=lambda: list[AccessMode](["ReadWriteOnce"]),
        description="Access modes of the claim; ReadWriteMany where the storage supports it.",
    )
    skip_init: StrictBool = Field(
        False, description="Skip copying the image's data folder into the fresh volume."
    )
    owner: StrictInt = Field(
        0,
        ge=0,
        le=INT32_MAX,
        description="fsGroup of the node pods (group owning the volume).",
    )
    disabled: StrictBool = Field(False, description="Do not create the volume at all.")
    mount_path: StrictStr = Field(
        "/home/kedro_docker/data",
        description="The project's data folder inside the image (kedro-docker's layout by "
        "default): copied into the volume at the start, where every node pod mounts it.",
    )

    @field_validator("mount_path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        normal = posixpath.normpath(value)
        if not value.startswith("/") or normal in ("/", "//") or "/.." in normal or "\0" in value:
            raise ValueError(f"{value!r} must be an absolute path below /")
        return normal

    _size = field_validator("size")(check_quantity)

    @field_validator("storageclass")
    @classmethod
    def _storage_class(cls, value: str | None) -> str | None:
        return value if not value else check_object_name(value, "StorageClass")
