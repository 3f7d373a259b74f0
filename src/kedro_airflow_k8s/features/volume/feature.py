"""The compile side of the per-run volume: the SPEC's ``volume`` section (``runtime/volume.py``
makes the claim, mounts it in every pod and deletes it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from kedro_airflow_k8s.features.api import Feature, SectionInputs

if TYPE_CHECKING:
    from kedro_airflow_k8s.config.models import RunConfig
    from kedro_airflow_k8s.names import Names
    from kedro_airflow_k8s.runtime.spec import VolumeSpec

SPEC_KEY: Final = "volume"


def volume_spec(run_config: RunConfig, taken: Names) -> VolumeSpec | None:
    """The per-run volume, or None when it is not configured or disabled."""
    volume = run_config.volume
    if volume is None or volume.disabled:
        return None
    return {
        "storage_class": volume.storageclass,
        "size": volume.size,
        "access_modes": list(volume.access_modes),
        "skip_init": volume.skip_init,
        "owner": volume.owner,
        "mount_path": volume.mount_path,
        "create_task_id": taken.claim("data_volume_init"),
        "delete_task_id": taken.claim("data_volume_delete"),
    }


class VolumeFeature(Feature):
    spec_key = SPEC_KEY
    runtime_module = "volume"
    extension = "VolumeExtension(untemplated)"

    def section(self, inputs: SectionInputs) -> VolumeSpec | None:
        return volume_spec(inputs.run_config, inputs.taken)


FEATURE = VolumeFeature()
