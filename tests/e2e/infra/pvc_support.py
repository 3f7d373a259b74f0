"""PersistentVolumeClaims in the Kubernetes emulator, for tests (no change to the emulator needed).

kmock stores any object it is sent, PVCs included: create, read, delete (with a 409 for a second
create and a 404 for a missing one) work as they are. Finalizers are honoured: a claim created
with ``metadata.finalizers`` stays, with a ``deletionTimestamp``, after a delete until they are
removed (what ``kubernetes.io/pvc-protection`` does while a pod uses a real claim). Nothing binds
claims to volumes and the test kubelet mounts nothing: claims never get a ``status``.

kmock keeps every version of an object, also after its deletion; :func:`claims` reads that
history so a test can check a claim that a DAG run created and deleted again.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import kmock

from .kube_emulator import KubeEmulator

PVC_RESOURCE = kmock.resource("v1/persistentvolumeclaims")


@dataclass(frozen=True)
class ClaimRecord:
    """One claim ever created in the emulator (read it from tests)."""

    namespace: str
    name: str
    created: dict[str, Any]  # the manifest as the client sent it
    current: dict[str, Any] | None  # None once deleted
    versions: int  # how many versions kmock kept (creations and updates)
    deletions: int  # how many times it was deleted (a deleted claim may be created again)

    @property
    def deleted(self) -> bool:
        return self.current is None


def claims(emulator: KubeEmulator, namespace: str | None = None) -> list[ClaimRecord]:
    """Every claim created so far (deleted ones too), optionally of one namespace."""
    return list(emulator._call_in_loop(_claims(emulator, namespace)))


def claim(emulator: KubeEmulator, namespace: str, name: str) -> ClaimRecord:
    for record in claims(emulator, namespace):
        if record.name == name:
            return record
    raise KeyError(f"no claim {namespace}/{name} was ever created")


async def _claims(emulator: KubeEmulator, namespace: str | None) -> list[ClaimRecord]:
    handler = emulator._handler
    assert handler is not None, "the emulator is not running"
    records = []
    async with handler._lock:
        for (resource, ns, name), obj in handler.objects.items():
            if resource != PVC_RESOURCE or (namespace is not None and ns != namespace):
                continue
            history = [version for version in obj.history if version is not None]
            deletions = sum(1 for version in obj.history if version is None)
            records.append(
                ClaimRecord(
                    namespace=ns or "",
                    name=name,
                    created=copy.deepcopy(dict(history[0].raw)),
                    current=None if obj.deleted else copy.deepcopy(dict(obj.raw)),
                    versions=len(history),
                    deletions=deletions,
                )
            )
    return records
