"""The user-facing error types and the exit codes they end a command with.

Every failure the user can act on is raised as a :class:`PluginError` subclass; click prints its
one-line message (``Error: ...``) and exits with the class's code, with no traceback:

===  =====================================================================================
0    success
1    the pipeline ran and failed (``run-once --wait-for-completion``): :class:`RunFailed`
2    the command line is wrong (an unknown option, a bad option value, options that cannot go
     together): click's own code and :class:`UsageProblem` (the plugin's command group,
     :class:`OneLineUsageGroup`, reports click's usage errors as one)
3    a wait ran out of time (``--timeout``, ``--parse-timeout``, ``--wait-for-completion``):
     :class:`TimedOut`
4    the project, its pipelines or ``kedro-airflow-k8s.yaml`` cannot be used: :class:`PluginError`,
     :class:`ConfigError`, :class:`PluginConfigError`, :class:`PlanError`
5    Airflow or the storage failed or refused (unreachable, authentication, an unexpected
     answer, a write that failed): :class:`RemoteError`
===  =====================================================================================
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import click
from click.exceptions import NoArgsIsHelpError

EXIT_RUN_FAILED = 1
EXIT_USAGE = 2  # click.UsageError's code
EXIT_TIMEOUT = 3
EXIT_INPUT = 4
EXIT_REMOTE = 5

#: How messages name the plugin's config: by the key Kedro's config loader reads it under.
PLUGIN_CONFIG = "airflow-k8s config"

#: Every exit code a command can end with, and what it means (the command reference lists them).
EXIT_CODES: tuple[tuple[int, str], ...] = (
    (0, "success"),
    (EXIT_RUN_FAILED, "the pipeline ran and failed (`run-once --wait-for-completion`)"),
    (EXIT_USAGE, "the command line is wrong: an unknown option or a bad option value"),
    (
        EXIT_TIMEOUT,
        "a wait ran out of time (`--timeout`, `--parse-timeout`, `--wait-for-completion`)",
    ),
    (EXIT_INPUT, "the project, its pipelines or `kedro-airflow-k8s.yaml` cannot be used as is"),
    (
        EXIT_REMOTE,
        "Airflow or the DAG storage failed or refused: unreachable, authentication, an "
        "unexpected answer, a write that failed",
    ),
)


class PluginError(click.ClickException):
    """A problem the user can fix: the message says what is wrong, where, and how to fix it."""

    exit_code = EXIT_INPUT

    def __init__(self, message: str) -> None:
        # One line: the CLI promise is a single line naming what and where.
        super().__init__(" ".join(message.split("\n")).strip())


class UsageProblem(PluginError):
    """Options that cannot go together, or an option value the command cannot take (found by
    the plugin rather than by click); one line, with click's usage-error code."""

    exit_code = EXIT_USAGE


class ConfigError(PluginError):
    """A wrong key, type or value in a config file (the message starts with the file or config
    it is in, then the key path)."""


class PluginConfigError(ConfigError):
    """A problem in the plugin's own config (``kedro-airflow-k8s.yaml``): the message is given
    from the key path on, and the config's name is put in front of it here, the one place."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{PLUGIN_CONFIG}: {message}")


class PlanError(PluginError):
    """The pipeline cannot be turned into Airflow tasks (tags, cycles, in-memory data...)."""


class RemoteError(PluginError):
    """Airflow's API or the DAG storage failed, refused or answered something unexpected."""

    exit_code = EXIT_REMOTE


class TimedOut(PluginError):
    """A wait ended at its deadline."""

    exit_code = EXIT_TIMEOUT


class RunFailed(PluginError):
    """The DAG run ended failed."""

    exit_code = EXIT_RUN_FAILED


@contextlib.contextmanager
def _one_line_usage() -> Iterator[None]:
    try:
        yield
    except NoArgsIsHelpError:
        raise  # no command given: click shows the help, as asked
    except click.UsageError as error:
        message = error.format_message().rstrip(".")
        hint = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
        raise UsageProblem(message + hint) from error


class _UsageInContextCommand(click.Command):
    """A command whose option parser's errors know the command (click's parser raises some,
    e.g. an option missing its value, without a context), so the one line names its --help."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            if error.ctx is None:
                error.ctx = ctx
            raise


class OneLineUsageGroup(click.Group):
    """A command group whose usage errors, click's own (an unknown command or option, a bad
    value) as much as the plugin's, are one line ``Error: ...`` with exit code 2, instead of
    click's three lines (usage, a hint, the error)."""

    command_class = _UsageInContextCommand

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        with _one_line_usage():
            return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        with _one_line_usage():  # the group's callback, the command's name, options and callback
            return super().invoke(ctx)
