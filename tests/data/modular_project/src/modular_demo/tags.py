"""Tags are built here, not spelled out at each node."""

from __future__ import annotations

RESOURCES = "resources."


def on(profile: str) -> str:
    return RESOURCES + profile


TRAINING = [on("gpu"), "training"]
