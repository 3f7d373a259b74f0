"""Pipelines of the Spaceflights project."""
