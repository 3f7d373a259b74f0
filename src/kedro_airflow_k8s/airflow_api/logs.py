"""Text for people from what Airflow stores: task log lines and import-error tracebacks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"


def log_lines(content: Any) -> list[str]:
    """Task log lines from a log answer's ``content``: Airflow 3's structured records, or plain
    text (Airflow 2, older records)."""
    if isinstance(content, str):
        return content.splitlines()
    lines: list[str] = []
    for record in content or []:
        if isinstance(record, Mapping):
            lines.extend(_record_lines(record))
        else:
            lines.extend(str(record).splitlines())
    return lines


def _record_lines(record: Mapping[str, Any]) -> list[str]:
    head = " ".join(str(record[key]) for key in ("timestamp", "level") if record.get(key))
    event = str(record.get("event") or "")
    text = f"[{head}] {event}" if head else event
    return text.splitlines() + _error_detail_lines(record.get("error_detail"))


def _error_detail_lines(detail: Any) -> list[str]:
    """An ``error_detail`` (structlog's exception dicts, outermost first) as Python prints it."""
    if not detail:
        return []
    if isinstance(detail, str):
        return detail.splitlines()
    if not isinstance(detail, list):
        return [str(detail)]
    # Innermost first, as Python prints a chain; a stack's is_cause says it caused the one
    # before it in structlog's list (printed after it here).
    stacks = [stack for stack in reversed(detail) if isinstance(stack, Mapping)]
    lines: list[str] = []
    for index, stack in enumerate(stacks):
        if index:
            lines += ["", _CAUSE if stacks[index - 1].get("is_cause") else _CONTEXT, ""]
        lines += _stack_lines(stack)
    return lines


def _stack_lines(stack: Mapping[str, Any]) -> list[str]:
    frames = [f for f in stack.get("frames") or [] if isinstance(f, Mapping)]
    lines = ["Traceback (most recent call last):"] if frames else []
    for frame in frames:
        lines.append(
            f'  File "{frame.get("filename", "?")}", line {frame.get("lineno", "?")}, '
            f"in {frame.get('name', '?')}"
        )
    value = str(stack.get("exc_value") or "")
    exc_type = str(stack.get("exc_type") or "Exception")
    lines.append(f"{exc_type}: {value}" if value else exc_type)
    return lines


def trace_summary(trace: str) -> str:
    """The exception line of a formatted traceback and the last place it points at.

    For a chain of exceptions (Python prints the first cause first) the first cause is what
    went wrong, so it leads; the exception that ended the chain follows it."""
    blocks: list[list[str]] = [[]]
    for line in trace.strip().splitlines():
        if line.strip() in (_CAUSE, _CONTEXT):
            blocks.append([])
        elif line.strip():
            blocks[-1].append(line.rstrip())
    summaries = [_block_summary(block) for block in blocks if block]
    if not summaries:
        return "(no details)"
    if len(summaries) == 1:
        return summaries[0]
    return f"{summaries[0]}; which then caused {summaries[-1]}"


def _block_summary(lines: list[str]) -> str:
    exception = next((ln for ln in reversed(lines) if not ln[:1].isspace()), lines[-1]).strip()
    place = next((ln.strip() for ln in reversed(lines) if ln.strip().startswith('File "')), "")
    return f"{exception} ({place})" if place and place != exception else exception
