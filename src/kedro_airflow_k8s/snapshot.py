"""Plain, immutable data describing a Kedro project as the later stages need it.

The snapshot is taken once per command by :mod:`kedro_airflow_k8s.project` and handed down the
flow (plan, render). Nothing here touches Kedro, the file system or the network, so the planning
and rendering stages can be tested with hand-built snapshots.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import Enum
from typing import Any, NamedTuple


class _NoEntries(Mapping[Any, Any]):
    """The empty mapping that cannot be changed: the one shared default of the named tuples'
    mapping fields. (A read-only proxy of an empty dict would do, but it can be neither pickled
    nor deep-copied, and neither could a record holding it.)"""

    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "NO_ENTRIES"

    def __reduce__(self) -> str:
        return "NO_ENTRIES"  # pickled and copied as this module's one instance


#: The shared empty, read-only default of a record's mapping field.
NO_ENTRIES: Mapping[Any, Any] = _NoEntries()


class DatasetSource(str, Enum):
    """Where a dataset's definition comes from."""

    ENTRY = "entry"  # an explicit catalog entry
    FACTORY = "factory"  # matched by a dataset factory pattern
    PARAMS = "params"  # `parameters` or `params:...`: loaded from config in every pod
    NONE = "none"  # no catalog entry and no factory: an in-memory dataset at run time


class DatasetSpec(NamedTuple):
    """A dataset as configured in the catalog (never instantiated)."""

    name: str
    source: DatasetSource
    type: str | None = None  # the catalog `type` as written, e.g. "spark.SparkDataset"
    pattern: str | None = None  # the factory pattern that matched, for FACTORY

    @property
    def is_memory(self) -> bool:
        """True when the data lives only in the memory of the process that produced it."""
        if self.source is DatasetSource.NONE:
            return True
        if self.type is None:
            return False
        short = self.type.rsplit(".", 1)[-1]
        return short in {"MemoryDataset", "MemoryDataSet", "SharedMemoryDataset"}


class NodeSpec(NamedTuple):
    """One Kedro node.

    ``annotations`` maps each annotated parameter of the node's function (and ``return``) to
    the annotation as a string with names qualified by the module they come from where that could
    be worked out (``"pyspark.sql.dataframe.DataFrame"``, ``"typing.Optional[pandas.DataFrame]"``).
    """

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    tags: tuple[str, ...] = ()
    namespace: str | None = None
    func: str = ""  # "module.qualname" of the node's function
    annotations: tuple[tuple[str, str], ...] = ()


class PipelineSpec(NamedTuple):
    """A registered pipeline: its nodes in Kedro's topological order, and Kedro's own view of
    how they depend on each other.

    ``dependencies`` is ``Pipeline.node_dependencies`` by name: each node and the nodes it
    directly depends on. ``transcoded`` maps every transcoded input or output name
    (``"table@pandas"``) to the dataset Kedro takes it for (``"table"``); other names stand
    for themselves. A spec built by hand may leave both out: the plan then links nodes by
    dataset names alone.
    """

    name: str
    nodes: tuple[NodeSpec, ...]
    dependencies: Mapping[str, tuple[str, ...]] | None = None
    transcoded: Mapping[str, str] = NO_ENTRIES


class ProjectSnapshot(NamedTuple):
    """Everything the later stages read from the Kedro project, loaded once per command."""

    project_name: str
    package_name: str
    project_path: str
    env: str
    kedro_version: str
    pipelines: Mapping[str, PipelineSpec]
    datasets: Mapping[str, DatasetSpec]
    commit_sha: str | None = None
    branch: str | None = None
