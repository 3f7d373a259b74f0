"""Python literals emitted for generated files evaluate back to exactly the data."""

from __future__ import annotations

import ast
import math
from collections import OrderedDict
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_airflow_k8s.render.literals import to_literal

NASTY = [
    "",
    "'",
    '"',
    "'''",
    '"""',
    "\\",
    "a\\",
    "\n",
    "line\nbreak",
    "{{ conn.secret.password }}",
    "{% for x in y %}",
    "'); import os; os.system('id'); ('",
    "\x00",
    "\u2028",
    "\ud800",
    "é日本",
    "# comment",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from(NASTY)
)
data = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text() | st.sampled_from(NASTY), children, max_size=5)
    ),
    max_leaves=30,
)


@given(data)
@settings(max_examples=300, deadline=None)
def test_literal_round_trips(value: object) -> None:
    text = to_literal(value)
    assert ast.literal_eval(text) == value


@pytest.mark.parametrize("text", NASTY)
def test_nasty_strings_stay_inside_the_literal(text: str) -> None:
    source = f"X = {to_literal({'k': [text]})}\n"
    module = ast.parse(source)
    assert len(module.body) == 1
    assert ast.literal_eval(module.body[0].value) == {"k": [text]}  # type: ignore[attr-defined]


def test_output_is_deterministic_and_readable() -> None:
    value = {"b": 1, "a": [1, 2, {"c": None}], "long": ["x" * 50, "y" * 50]}
    assert to_literal(value) == to_literal(dict(value))
    assert to_literal(value) == (
        "{\n"
        "    'b': 1,\n"
        "    'a': [1, 2, {'c': None}],\n"
        "    'long': [\n"
        f"        '{'x' * 50}',\n"
        f"        '{'y' * 50}',\n"
        "    ],\n"
        "}"
    )


@pytest.mark.parametrize("bad", [math.nan, math.inf, object(), {1: "int key"}, {"s": {1, 2}}])
def test_refuses_what_is_not_plain_data(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        to_literal(bad)


@given(data)
@settings(max_examples=300, deadline=None)
def test_plain_data_is_written_as_the_item_by_item_emission_writes_it(value: object) -> None:
    """Plain data goes through ``repr`` for its one-line parts: the same text as the emission
    that checks every item (which writes data of other types)."""
    from kedro_airflow_k8s.render.literals import _emit, _emit_plain

    for level in (0, 3):
        parts: list[str] = []
        _emit(value, level, parts)
        plain: list[str] = []
        _emit_plain(value, level, plain)  # raises on data it leaves to _emit
        assert "".join(plain) == "".join(parts)
        assert to_literal(value, level) == "".join(parts)


class Point(NamedTuple):
    x: int
    y: int


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"k": [Point(1, 2)]}, "{'k': [(1, 2)]}"),
        ([OrderedDict(a=1)], "[{'a': 1}]"),
        (
            {"k": ["x" * 90, Point(3, 4)]},
            f"{{\n    'k': [\n        '{'x' * 90}',\n        (3, 4),\n    ],\n}}",
        ),
    ],
)
def test_subclasses_of_the_containers_are_written_as_the_built_in_ones(
    value: object, text: str
) -> None:
    """Their ``repr`` is not a literal: wherever they are (in a part short enough for one line
    or not), the item-by-item emission writes the data."""
    assert to_literal(value) == text
    assert ast.literal_eval(text) == value
