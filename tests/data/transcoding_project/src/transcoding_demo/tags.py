"""Node tags the project builds in code."""

from __future__ import annotations


def machine(size: str) -> str:
    """The tag selecting a resource profile of the Airflow deployment."""
    return f"machine.{size}"


BIG_MACHINE = machine("big")
