"""The one user-facing error type.

Every failure the user can fix (bad config, bad tags, missing image, ...) is raised as
:class:`PluginError`; click prints its one-line message and exits non-zero, with no traceback.
"""

from __future__ import annotations

import click


class PluginError(click.ClickException):
    """A problem the user can fix: the message says what is wrong, where, and how to fix it."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        # One line: the CLI promise is a single line naming what and where.
        super().__init__(" ".join(message.split("\n")).strip())


class ConfigError(PluginError):
    """A wrong key, type or value in the plugin's config (the message starts with the key
    path)."""


class PlanError(PluginError):
    """The pipeline cannot be turned into Airflow tasks (tags, cycles, in-memory data...)."""
