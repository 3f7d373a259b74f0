"""Markdown reference of every command and option, generated from the click commands
(docs/commands.md): ``python scripts/command_reference.py > docs/commands.md`` (with the package
importable)."""

from __future__ import annotations

import html
import inspect
import re
from collections.abc import Iterator

import click

from kedro_airflow_k8s.cli import commands
from kedro_airflow_k8s.errors import EXIT_CODES

GROUP_NAME = "airflow-k8s"
# What the user types before the group's name: Kedro adds the group to its own command line.
PROGRAM = "kedro"
_DEFAULT_IN_HELP = re.compile(r"\s*\[default: ([^\]]+)\]")


def _text(value: str) -> str:
    """Prose for a Markdown table cell: no raw HTML, no column breaks, one line."""
    return html.escape(" ".join(value.split()), quote=False).replace("|", "\\|")


def _help(command: click.Command) -> str:
    """The command's whole help text (click's ``\\f`` cuts off what --help does not show)."""
    return inspect.cleandoc((command.help or "").split("\f")[0])


def _anchor(title: str) -> str:
    """The id MkDocs gives a heading (Python-Markdown's toc slugify)."""
    slug = re.sub(r"[^\w\s-]", "", title).strip().lower()
    return re.sub(r"[-\s]+", "-", slug)


def _context(
    command: click.Command, name: str, parent: click.Context | None = None
) -> click.Context:
    return click.Context(command, info_name=name, parent=parent, **command.context_settings)


def _walk(ctx: click.Context) -> Iterator[click.Context]:
    """``ctx`` and the contexts of every command below it, depth first, in click's order."""
    yield ctx
    group = ctx.command
    if isinstance(group, click.Group):
        for name in group.list_commands(ctx):
            sub = group.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _walk(_context(sub, name, ctx))


def _title(ctx: click.Context) -> str:
    """The heading of a command: its path below the plugin's group (the group: its full path)."""
    parts = ctx.command_path.split()
    below = parts[parts.index(GROUP_NAME) + 1 :]
    return " ".join(below) if below else ctx.command_path


def _range(param_type: click.IntRange | click.FloatRange) -> str:
    bounds = []
    if param_type.min is not None:
        bounds.append(f"{'>' if param_type.min_open else '>='} {param_type.min}")
    if param_type.max is not None:
        bounds.append(f"{'<' if param_type.max_open else '<='} {param_type.max}")
    return " and ".join(bounds)


def _value(param: click.Parameter) -> str:
    """What the option takes: a flag, one of some choices, or a value of some type."""
    if isinstance(param, click.Option) and param.is_flag:
        return "flag"
    kind = param.type
    if isinstance(kind, click.Choice):
        text = " \\| ".join(f"`{choice}`" for choice in kind.choices)
    elif isinstance(kind, click.Path):
        text = "folder" if not kind.file_okay else "file" if not kind.dir_okay else "path"
    elif isinstance(kind, (click.IntRange, click.FloatRange)):
        number = "integer" if isinstance(kind, click.IntRange) else "number"
        text = f"{number} {_range(kind)}"
    else:
        text = {"text": "text", "float": "number", "integer": "integer"}.get(kind.name, kind.name)
    if isinstance(param, click.Option) and getattr(param, "_flag_needs_value", False):
        text += f"; alone: `{param.flag_value}`"
    if param.multiple:
        text += " (repeatable)"
    return text


def _default_and_meaning(param: click.Option) -> tuple[str, str]:
    """The default as ``--help`` tells it, and the help text without it."""
    meaning = " ".join((param.help or "").split())
    default = ""
    found = _DEFAULT_IN_HELP.search(meaning)
    if found:  # a default the code computes, written into the help text by hand
        default = found.group(1)
        meaning = (meaning[: found.start()] + meaning[found.end() :]).strip()
    elif isinstance(param.show_default, str):
        default = param.show_default
    elif (
        param.show_default
        and not param.is_flag
        and isinstance(param.default, (str, int, float))
        and not isinstance(param.default, bool)
    ):
        default = str(param.default)
    envvars = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
    if envvars:
        meaning += " Read from " + ", ".join(f"`${name}`" for name in envvars) + " if unset."
    return (f"`{default}`" if default else "—"), _text(meaning)


def _options_table(ctx: click.Context) -> list[str]:
    options = [p for p in ctx.command.get_params(ctx) if isinstance(p, click.Option)]
    lines = ["| option | value | default | meaning |", "| --- | --- | --- | --- |"]
    for option in options:
        if option.hidden:
            continue
        names = ", ".join(f"`{name}`" for name in [*option.opts, *option.secondary_opts])
        default, meaning = _default_and_meaning(option)
        lines.append(f"| {names} | {_value(option)} | {default} | {meaning} |")
    return lines


def _arguments_table(ctx: click.Context) -> list[str]:
    arguments = [p for p in ctx.command.get_params(ctx) if isinstance(p, click.Argument)]
    if not arguments:
        return []
    lines = ["| argument | value | required |", "| --- | --- | --- |"]
    for argument in arguments:
        name = argument.make_metavar(ctx)
        required = "yes" if argument.required else "no"
        lines.append(f"| `{name}` | {_value(argument)} | {required} |")
    return ["**Arguments**", "", *lines, ""]


def _commands_table(ctx: click.Context) -> list[str]:
    group = ctx.command
    assert isinstance(group, click.Group)
    lines = ["| command | what it does |", "| --- | --- |"]
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        title = _title(_context(sub, name, ctx))
        summary = _text(sub.get_short_help_str(limit=300))
        lines.append(f"| [`{name}`](#{_anchor(title)}) | {summary} |")
    return ["**Commands**", "", *lines, ""]


def _section(ctx: click.Context) -> list[str]:
    command = ctx.command
    usage = command.get_usage(ctx).removeprefix("Usage: ")
    lines = [f"## {_title(ctx)}", "", html.escape(_help(command), quote=False), ""]
    lines += ["```text", usage, "```", ""]
    lines += _arguments_table(ctx)
    lines += ["**Options**", "", *_options_table(ctx), ""]
    if isinstance(command, click.Group):
        lines += _commands_table(ctx)
    return lines


def command_reference() -> str:
    """The Markdown of docs/commands.md."""
    root = _context(commands, PROGRAM)
    group = commands.get_command(root, GROUP_NAME)
    if group is None:  # pragma: no cover - the group is defined in cli.py
        raise RuntimeError(f"no {GROUP_NAME} command group in kedro_airflow_k8s.cli")
    lines = [
        "# Command reference",
        "",
        "<!-- Generated from kedro_airflow_k8s.cli by "
        "`python scripts/command_reference.py > docs/commands.md`. -->",
        "",
        f"Every command runs inside a Kedro project as `{PROGRAM} {GROUP_NAME} [OPTIONS] COMMAND "
        "[ARGS]...`. The options of the group (`-e/--env`, `-p/--pipelines`) go before the "
        "command's name, the command's own options after it:",
        "",
        "```bash",
        f"{PROGRAM} {GROUP_NAME} -e prod -p training compile --image registry/project:abc123",
        "```",
        "",
        "A problem the user can fix ends the command with a one-line message (`Error: ...`), "
        "no traceback, and one of these [exit codes](#exit-codes).",
        "",
    ]
    for ctx in _walk(_context(group, GROUP_NAME, root)):
        lines += _section(ctx)
    lines += ["## Exit codes", "", "| Code | Meaning |", "| --- | --- |"]
    lines += [f"| {code} | {_text(meaning)} |" for code, meaning in EXIT_CODES]
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(command_reference(), end="")
