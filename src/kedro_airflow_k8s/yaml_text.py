"""Values written as YAML text that reads back exactly, by PyYAML and by Kedro's OmegaConf loader.

Used for the files ``init`` writes and for the catalog lines that error messages suggest.
"""

from __future__ import annotations

import re

import yaml

_INTERPOLATION = re.compile(r"(\\*)\$\{")
_NUMBER_START = frozenset("+-.0123456789")
_LINE_BREAKS = "\n\r\x85\u2028\u2029"


def yaml_scalar(value: str) -> str:
    """``value`` as a one-line YAML scalar (plain when that is safe, else quoted).

    Quotes, colons, ``#``, leading dashes, newlines and other control characters all come back
    exactly when the file is read, by PyYAML or by OmegaConf."""
    if not isinstance(value, str):
        raise TypeError(f"yaml_scalar takes a string, not {type(value).__name__}")
    plain = _dump(value, None)
    # A plain scalar that starts like a number is quoted: OmegaConf's loader reads more forms
    # as floats (1e3) than PyYAML's dumper knows.
    if not (plain == value and value[:1] in _NUMBER_START) and _reads_back(plain, value):
        return plain
    quoted = _dump(value, '"')
    if _reads_back(quoted, value):
        return quoted
    return _dump(value, '"', allow_unicode=False)  # every non-ASCII character escaped


def flow_scalar(value: str) -> str:
    """``value`` as a scalar that may stand inside a flow mapping (``{key: value}``)."""
    text = yaml_scalar(value)
    if text[:1] not in "\"'" and any(ch in text for ch in ",[]{}#"):
        text = _dump(value, '"')
    return text


def _reads_back(text: str, value: str) -> bool:
    """One line (no YAML line break) that a YAML reader turns back into ``value``."""
    if any(ch in text for ch in _LINE_BREAKS):
        return False
    return bool(yaml.safe_load(f"- {text}\n") == [value])


def _dump(value: str, style: str | None, *, allow_unicode: bool = True) -> str:
    text = str(
        yaml.safe_dump(
            value, default_style=style, allow_unicode=allow_unicode, width=2**30, explicit_end=False
        )
    )
    if text.endswith("\n...\n"):  # a plain scalar document may end with "..."
        text = text[: -len("\n...\n")]
    return text[:-1] if text.endswith("\n") else text


def omegaconf_literal(text: str) -> str:
    """``text`` written so OmegaConf reads it back as it is, never as an interpolation."""

    def escape(match: re.Match[str]) -> str:
        # n backslashes before "${" are read as n // 2 of them; odd n escapes the "${".
        return match.group(1) * 2 + "\\${"

    return _INTERPOLATION.sub(escape, text)
