"""The ``--params`` of the node pods: which parameters Kedro takes, and how they are written.

This module runs in two places and holds the one copy of these rules. Inside Airflow: the
renderer embeds its source into every generated DAG file before the DAG builder's, whose
``kedro_params`` macro renders ``kedro run --params=...`` from the macros, Airflow Variables and
the run's conf. In the plugin: ``run-once`` checks its ``--param`` values with
:func:`check_run_conf` before anything is shipped or triggered. It imports only the standard
library (no ``from __future__``: it is not at the top of the file); its private names start
with ``_param``.
"""

import itertools
import re
from typing import Any

_PARAM_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_PARAM_ESCAPED = frozenset(',"\\$\x7f\x85\u2028\u2029')


def _param_yaml_printable(code: int) -> bool:
    """Characters YAML accepts as they are (control characters, C1 codes, surrogates, BOM and
    non-characters must be escaped)."""
    if code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF:
        return False
    return code not in (0xFEFF, 0xFFFE, 0xFFFF)


def encode_param_value(value: Any) -> str:
    """A value for ``kedro run --params``, which splits on every comma and reads each value as
    YAML then OmegaConf: strings go double-quoted with commas, quotes, backslashes, control
    characters and ``${`` escaped, so they arrive exactly as given; numbers and booleans stay
    typed."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if value is None:
        return "null"
    if not isinstance(value, str):
        raise ValueError(f"a Kedro parameter value must be a string, number or boolean: {value!r}")
    out = []
    for index, char in enumerate(value):
        code = ord(char)
        if char == "$" and value[index + 1 : index + 2] == "{":
            out.append("\\x5c\\x24")  # OmegaConf's escape of an interpolation: \${
        elif char == "\\" and value[index + 1 : index + 3] == "${":
            out.append("\\x5c\\x5c")
        elif char in _PARAM_ESCAPED or not _param_yaml_printable(code):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _param_flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _param_flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    else:
        out[prefix] = value


def check_param_names(names: Any) -> None:
    """Raise ValueError for a name Kedro does not take as a parameter (letters, digits and
    ``_``, not starting with a digit, ``.`` between nested names), and for two names one of
    which is inside the other (``a`` and ``a.b``): Kedro would silently keep only one."""
    for name in names:
        if not _PARAM_KEY.match(name):
            raise ValueError(
                f"{name!r} cannot be a Kedro parameter name: use letters, digits and '_' (not "
                "first), with '.' between nested names"
            )
    ordered = sorted(names)
    # A name and the names inside it sort next to each other ("a" < "a.b" < "a0").
    for outer, inner in itertools.pairwise(ordered):
        if inner.startswith(outer + "."):
            raise ValueError(
                f"{outer!r} and {inner!r} cannot both be parameters: {inner!r} is inside "
                f"{outer!r}, and Kedro would keep only one of them"
            )


def kedro_param_values(*mappings: Any) -> dict[str, Any]:
    """The parameters of the given mappings as dotted name -> value, later mappings winning;
    undefined template values (a macro that a run without logical date lacks) are left out.
    Raises ValueError for names (:func:`check_param_names`) or values Kedro does not take."""
    merged: dict[str, Any] = {}
    for mapping in mappings:
        if not isinstance(mapping, dict):
            continue  # None, or an undefined template value
        for key, value in mapping.items():
            if type(value).__name__.endswith("Undefined"):
                continue
            _param_flatten(str(key), value, merged)
    check_param_names(merged)
    for value in merged.values():
        encode_param_value(value)
    return merged


def kedro_params(*mappings: Any) -> str:
    """The ``--params`` value for the given mappings (see :func:`kedro_param_values`)."""
    merged = kedro_param_values(*mappings)
    return ",".join(f"{key}={encode_param_value(value)}" for key, value in merged.items())


def check_run_conf(conf: Any, macro_names: Any = (), variable_names: Any = ()) -> None:
    """Raise ValueError when a run's conf would not reach Kedro: the rules of
    :func:`kedro_params` with the macros and Airflow Variables the DAG merges it with, and
    text Airflow cannot store in a run's conf (JSON, which PostgreSQL keeps without the NUL
    character and without unpaired surrogates, the form undecodable command-line bytes take)."""
    for key, value in conf.items():
        for text in (key, value):
            if not isinstance(text, str):
                continue
            if "\x00" in text:
                raise ValueError(f"{text!r} holds a NUL character, which Airflow cannot store")
            if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
                raise ValueError(f"{text!r} is not valid text (bytes that are not UTF-8?)")
    placeholders = [{name: "" for name in names} for names in (macro_names, variable_names)]
    kedro_param_values(*placeholders, conf)
