"""The ``--params`` value built inside Airflow reaches Kedro intact: checked with Kedro's own
``kedro run --params`` parser and config loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import load_runtime


@pytest.fixture(scope="module")
def builder() -> Any:
    return load_runtime()


def _through_kedro(argument: str, conf_dir: Path) -> dict[str, Any]:
    """What a node sees: Kedro's CLI callback, then its config loader's runtime params."""
    from kedro.config import OmegaConfigLoader
    from kedro.framework.cli.utils import _split_params

    value = argument.removeprefix("--params=")
    command = click.Command("run")
    option = click.Option(["--params"])
    parsed = _split_params(click.Context(command), option, value)
    loader = OmegaConfigLoader(str(conf_dir), env="local", runtime_params=parsed)
    result: dict[str, Any] = loader["parameters"]
    return result


@pytest.fixture(scope="module")
def conf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    conf = tmp_path_factory.mktemp("conf")
    (conf / "base").mkdir()
    (conf / "local").mkdir()
    (conf / "base" / "parameters.yml").write_text("alpha: 0.5\n")
    return conf


AWKWARD = {
    "commas": "a,b,,c",
    "colons": "x: y:z",
    "quotes": 'it\'s "quoted"',
    "spaces": "  leading and trailing  ",
    "equals": "k=v=w",
    "braces": "{{ ds }} and {% raw %}",
    "dollar": "$5 and ${oc.env:HOME} and \\${x}",
    "backslash": "C:\\path\\",
    "newline": "one\ntwo\r\n",
    "unicode": "é日本\u2028",
    "empty": "",
    "number": 3,
    "float": 2.5,
    "flag": True,
}


def test_awkward_values_arrive_intact(builder: Any, conf_dir: Path) -> None:
    argument = "--params=" + builder.kedro_params(AWKWARD)
    assert _through_kedro(argument, conf_dir) == {"alpha": 0.5, **AWKWARD}


def test_later_mappings_win_and_undefined_values_are_left_out(builder: Any, conf_dir: Path) -> None:
    undefined = jinja2.StrictUndefined(name="ds")
    value = builder.kedro_params({"ds": undefined, "a": "macro"}, {"b": "var"}, {"a": "conf"})
    assert value == 'a="conf",b="var"'
    assert builder.kedro_params({}, {}, None) == ""


def test_nested_conf_becomes_dotted_parameters(builder: Any, conf_dir: Path) -> None:
    argument = "--params=" + builder.kedro_params({"model": {"depth": 3, "name": "x,y"}})
    assert _through_kedro(argument, conf_dir)["model"] == {"depth": 3, "name": "x,y"}


@pytest.mark.parametrize("bad", [{"bad key": 1}, {"a": [1, 2]}, {"": 1}])
def test_unusable_params_are_clear_errors(builder: Any, bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        builder.kedro_params(bad)


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
        st.text(max_size=20) | st.integers(-(10**9), 10**9) | st.booleans(),
        max_size=5,
    )
)
@settings(max_examples=200, deadline=None)
def test_any_values_round_trip(builder: Any, conf_dir: Path, values: dict[str, Any]) -> None:
    argument = "--params=" + builder.kedro_params(values)
    assert _through_kedro(argument, conf_dir) == {"alpha": 0.5, **values}


def test_a_name_inside_another_is_refused_because_kedro_keeps_only_one(
    builder: Any, conf_dir: Path
) -> None:
    # What Kedro does with both: one of the two values is lost, whichever comes first.
    from kedro.framework.cli.utils import _split_params

    command = click.Command("run")
    for given_params in ("a=1,a.b=2", "a.b=2,a=1"):
        parsed = _split_params(click.Context(command), click.Option(["--params"]), given_params)
        assert parsed in ({"a": {"b": 2}}, {"a": 1})
    with pytest.raises(ValueError) as caught:
        builder.kedro_params({"a": 1}, {"a": {"b": 2}})
    assert str(caught.value) == (
        "'a' and 'a.b' cannot both be parameters: 'a.b' is inside 'a', and Kedro would keep "
        "only one of them"
    )
    # Neighbours that only share a beginning are fine.
    assert builder.kedro_params({"a": 1, "ab": 2, "a0": 3, "b.a": 4}) == "a=1,ab=2,a0=3,b.a=4"


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        (
            {"1st": "x"},
            "'1st' cannot be a Kedro parameter name: use letters, digits and '_' (not first), "
            "with '.' between nested names",
        ),
        (
            {"my-key": "x"},
            "'my-key' cannot be a Kedro parameter name: use letters, digits and '_' (not first), "
            "with '.' between nested names",
        ),
        (
            {"ds.x": "1"},
            "'ds' and 'ds.x' cannot both be parameters: 'ds.x' is inside 'ds', and Kedro would "
            "keep only one of them",
        ),
        ({"a": "x\x00y"}, "'x\\x00y' holds a NUL character, which Airflow cannot store"),
        ({"a": "caf\udce9"}, "'caf\\udce9' is not valid text (bytes that are not UTF-8?)"),
    ],
    ids=["digit-first", "dash", "inside-a-macro", "nul", "surrogate"],
)
def test_a_run_conf_is_checked_with_the_macros_and_variables_it_joins(
    conf: dict[str, str], message: str
) -> None:
    from kedro_airflow_k8s.runtime.params import check_run_conf

    with pytest.raises(ValueError) as caught:
        check_run_conf(conf, ["ds"], ["MY_VAR"])
    assert str(caught.value) == message
    check_run_conf({"ds": "overrides the macro", "x.y": "z"}, ["ds"], ["MY_VAR"])


def test_the_plugin_reads_the_rules_without_airflow() -> None:
    """The CLI imports the same module the DAG files embed; it must not need Airflow."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['airflow'] = None; "
        "from kedro_airflow_k8s.runtime.params import check_run_conf; "
        "check_run_conf({'a': 'b'}); print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr
