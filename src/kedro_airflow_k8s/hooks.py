"""The plugin's Kedro hook, registered through Kedro's ``kedro.hooks`` entry point.

It runs inside the node pods (the image has the plugin installed) and does nothing unless the pod's
environment asks for it: with ``KEDRO_AIRFLOW_K8S_MEMORY_STORAGE`` (the DAG run's folder) and
``KEDRO_AIRFLOW_K8S_MEMORY_DATASETS`` (a JSON list of dataset names), both set by the generated DAG
for the tasks that write or read in-memory datasets of another task (``run_config.in_memory``),
each listed dataset is registered in the catalog as kedro-datasets' ``pickle.PickleDataset`` at
``<run folder>/<dataset>.pickle`` instead of living in memory. The names are the ones compile
found in the task plan; nothing is guessed in the pod.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from kedro.framework.hooks import hook_impl

from kedro_airflow_k8s.errors import PluginError
from kedro_airflow_k8s.runtime.memory import (
    MEMORY_DATASETS_ENV,
    MEMORY_STORAGE_ENV,
    memory_dataset_path,
    memory_read_datasets,
)

logger = logging.getLogger(__name__)


def persisted_datasets(environ: Mapping[str, str]) -> dict[str, str]:
    """Dataset name -> file of the run, as the environment asks (empty: nothing asked)."""
    storage = environ.get(MEMORY_STORAGE_ENV, "")
    listed = environ.get(MEMORY_DATASETS_ENV, "")
    if not storage and not listed:
        return {}
    if not storage or not listed:
        present, missing = (
            (MEMORY_STORAGE_ENV, MEMORY_DATASETS_ENV)
            if storage
            else (MEMORY_DATASETS_ENV, MEMORY_STORAGE_ENV)
        )
        raise PluginError(f"kedro-airflow-k8s: {present} is set but {missing} is not")
    try:
        names = memory_read_datasets(listed)
    except ValueError as exc:
        raise PluginError(f"kedro-airflow-k8s: {exc}") from exc
    return {name: memory_dataset_path(storage, name) for name in names}


def _pickle_dataset(filepath: str) -> Any:
    try:
        from kedro_datasets.pickle import PickleDataset
    except ImportError as exc:
        raise PluginError(
            "kedro-airflow-k8s: keeping in-memory datasets in the run's storage needs "
            f"kedro-datasets' pickle.PickleDataset in the image ({exc}): pip install kedro-datasets"
        ) from exc
    return PickleDataset(filepath=filepath)


class InMemoryStorageHooks:
    """Registers the run's in-memory datasets as pickle files, when the environment asks."""

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        for name, filepath in persisted_datasets(os.environ).items():
            catalog[name] = _pickle_dataset(filepath)
            logger.info("kedro-airflow-k8s: dataset %r is kept at %s", name, filepath)


in_memory_storage_hooks = InMemoryStorageHooks()
