"""The catalog as compile reads it (names and types, without building it through OmegaConf)
against Kedro's own ``OmegaConfigLoader`` on generated configuration folders: files in base and
the run environment, nested folders, hidden files, JSON, YAML anchors and merge keys,
``_``-prefixed helpers, dataset factories with a catch-all, interpolations (globals in file
paths, a type taken from a helper key), keys defined twice, both merge strategies."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from kedro.config import MissingConfigException, OmegaConfigLoader

from kedro_airflow_k8s.catalog_config import (
    _BuildFailed,
    _omegaconf_yaml_loader,
    _plain_entries,
    _Unbuildable,
    read_catalog_types,
    unreadable_catalog_file,
)
from kedro_airflow_k8s.errors import ConfigError
from kedro_airflow_k8s.project import catalog_entries, describe_datasets

# where a file may be, relative to an environment folder; the last ones Kedro does not read
FILES = (
    "catalog.yml",
    "catalog_more.yaml",
    "catalog/part_1.yml",
    "catalog/deeper/part_2.yml",
    "pipelines/train/catalog.yml",
    "catalog.json",
    ".hidden/catalog.yml",
    "catalog/.hidden.yml",
    "catalog.txt",
    "parameters.yml",
)
NAMES = ("companies", "shuttles", "x_csv", "ns.table", "1e3", "_helper")
PATTERNS = ("{name}_csv", "{namespace}.{name}", "{name}@pandas", "{default}")
TYPES = ("pandas.CSVDataset", "pickle.PickleDataset", "spark.SparkDatasetV2", "MemoryDataset")
PROBES = ("companies", "shuttles", "y_csv", "other.table", "free", "t@pandas", "1e3")


def _quote(text: str) -> str:
    return json.dumps(text)  # a YAML double-quoted scalar


@st.composite
def entry_texts(draw: st.DrawFn, name: str, anchors: list[str]) -> str:
    """The YAML of one entry."""
    kind = draw(
        st.sampled_from(
            (
                "plain",
                "plain",
                "plain",
                "globals",
                "anchor",
                "typed_by_helper",
                "null",
                "no_type",
                "no_type",
                "text",
                "odd_type",
                "not_a_mapping",
                "alias",
                "tagged",
                "twice",
            )
        )
    )
    key = _quote(name)
    kind_of = _quote(draw(st.sampled_from(TYPES)))
    if kind == "plain":
        return f"{key}:\n  type: {kind_of}\n  filepath: data/{name}.bin\n"
    if kind == "globals":
        return f"{key}:\n  type: {kind_of}\n  filepath: ${{globals:root}}/{name}\n"
    if kind == "anchor" and anchors:
        return f"{key}:\n  <<: *{draw(st.sampled_from(anchors))}\n  filepath: data/{name}\n"
    if kind == "typed_by_helper":
        return f"{key}:\n  type: ${{_helper.type}}\n"
    if kind == "null":
        return f"{key}:\n"
    if kind == "no_type":
        return f"{key}:\n  filepath: data/{name}\n"
    if kind == "text":
        return f"{key}: just text\n"
    if kind == "odd_type":  # a type that is no text, or a quoted type key
        odd = draw(st.sampled_from(("  type: null", "  type: 1", "  type: true", '  "type": T')))
        return f"{key}:\n{odd}\n  filepath: data/{name}\n"
    if kind == "not_a_mapping":
        return f"{key}: {draw(st.sampled_from(('3', '[a, {type: T}]', '{}', '~', 'yes')))}\n"
    if kind == "alias" and anchors:
        return f"{key}: *{draw(st.sampled_from(anchors))}\n"
    if kind == "tagged":
        tag = draw(st.sampled_from(("!!str", "!!binary", "!!int")))
        value = {"!!str": kind_of, "!!binary": "aGVsbG8=", "!!int": "12"}[tag]
        return f"{key}:\n  type: {kind_of}\n  extra: {tag} {value}\n"
    if kind == "twice":  # Kedro's loader refuses a key twice in one mapping
        return f"{key}:\n  type: {kind_of}\n  save_args:\n    x: 1\n    x: 2\n"
    return f"{key}:\n  type: {kind_of}\n"


@st.composite
def file_texts(draw: st.DrawFn, suffix: str, names: list[str]) -> str:
    if suffix == ".json":
        return json.dumps({name: {"type": draw(st.sampled_from(TYPES))} for name in names})
    parts = []
    anchors = []
    if draw(st.booleans()):
        parts.append(f"_base: &base\n  type: {_quote(draw(st.sampled_from(TYPES)))}\n")
        anchors.append("base")
    parts.append(f"_helper:\n  type: {_quote(draw(st.sampled_from(TYPES)))}\n")
    for name in names:
        if name != "_helper":
            parts.append(draw(entry_texts(name, anchors)))
    return "".join(parts)


@st.composite
def conf_folders(draw: st.DrawFn) -> dict[str, dict[str, str]]:
    """environment -> file -> text (base always, local mostly): each environment's keys spread
    over its files, now and then one key in two files."""
    folders: dict[str, dict[str, str]] = {}
    for env in ("base", "local"):
        if env == "local" and draw(st.integers(0, 3)) == 0:
            continue
        common = st.sampled_from(FILES[:3])  # the usual places, so both environments are read
        files = draw(st.lists(common | st.sampled_from(FILES), min_size=1, max_size=4, unique=True))
        names = draw(
            st.lists(st.sampled_from(NAMES + PATTERNS), min_size=1, max_size=6, unique=True)
        )
        placed: dict[str, list[str]] = {path: [] for path in files}
        for name in names:
            placed[draw(st.sampled_from(files))].append(name)
        if len(files) > 1 and draw(st.integers(0, 7)) == 0:
            placed[files[1]].append(placed[files[0]][0] if placed[files[0]] else names[0])
        folders[env] = {
            path: draw(file_texts(Path(path).suffix, list(dict.fromkeys(keys))))
            for path, keys in placed.items()
        }
    return folders


def _keys(text: str) -> list[str]:
    if text.startswith("{"):
        return list(json.loads(text))
    return [json.loads(line[: line.rindex(":")]) for line in text.splitlines() if line[:1] == '"']


def _write(root: Path, folders: Mapping[str, Mapping[str, str]]) -> Path:
    conf = root / "conf"
    for env in ("base", "local"):
        (conf / env).mkdir(parents=True, exist_ok=True)
    (conf / "base" / "globals.yml").write_text("root: data/shared\n")
    for env, files in folders.items():
        for path, text in files.items():
            target = conf / env / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    return conf


def _loader(conf: Path, env: str, strategy: str) -> OmegaConfigLoader:
    return OmegaConfigLoader(
        conf_source=str(conf),
        env=env,
        base_env="base",
        default_run_env="local",
        merge_strategy={"catalog": strategy},
    )


def _types(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.get("type") if isinstance(v, Mapping) else None) for k, v in config.items()}


def assert_same_as_kedro(conf: Path, env: str, strategy: str) -> str:
    """Compare compile's view of the catalog with Kedro's; return which path compile took."""
    try:
        theirs: dict[str, Any] | None = dict(_loader(conf, env, strategy)["catalog"])
    except MissingConfigException:  # no catalog file: no entries
        theirs = {}
    except Exception:  # Kedro refuses the configuration
        theirs = None
    try:
        fast = read_catalog_types(_loader(conf, env, strategy))
    except ConfigError:
        assert theirs is None, "compile refuses only what Kedro refuses"
        return "refused"
    if theirs is None:
        assert fast is None, "where Kedro fails, compile leaves it to Kedro's loader"
        with pytest.raises(ConfigError):
            catalog_entries(_loader(conf, env, strategy))
        return "refused"
    ours = fast if fast is not None else catalog_entries(_loader(conf, env, strategy))
    assert _types(ours) == _types(theirs)
    names = sorted({*theirs, *PROBES})
    assert describe_datasets(names, ours) == describe_datasets(names, theirs)
    return "fast" if fast is not None else "Kedro's loader"


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(conf_folders(), st.sampled_from(("local", "base")), st.sampled_from(("destructive", "soft")))
def test_compile_reads_the_catalog_as_kedro_does(
    folders: dict[str, dict[str, str]], env: str, strategy: str
) -> None:
    with tempfile.TemporaryDirectory() as temp:
        conf = _write(Path(temp), folders)
        event(assert_same_as_kedro(conf, env, strategy))


_OVERLAY_VALUES = st.sampled_from(
    (
        "  type: pandas.CSVDataset\n  filepath: a\n",
        "  type: pickle.PickleDataset\n",
        "  filepath: only_a_path\n",
        "  filepath: only_a_path\n",
        "  type: null\n",
        "",  # null: a soft merge of it is left to Kedro's loader
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(NAMES[:4] + PATTERNS), _OVERLAY_VALUES, min_size=1),
    st.dictionaries(st.sampled_from(NAMES[:4] + PATTERNS), _OVERLAY_VALUES),
    st.sampled_from(("destructive", "soft")),
)
def test_the_run_environment_overlays_base_as_in_kedro(
    base: dict[str, str], local: dict[str, str], strategy: str
) -> None:
    """Entries of base overridden in the run environment, whole or in part, both strategies."""

    def text(entries: dict[str, str]) -> str:
        return "".join(f"{_quote(name)}:\n{body}" for name, body in entries.items())

    with tempfile.TemporaryDirectory() as temp:
        conf = _write(
            Path(temp), {"base": {"catalog.yml": text(base)}, "local": {"catalog.yml": text(local)}}
        )
        event(assert_same_as_kedro(conf, "local", strategy))


CASES: dict[str, tuple[dict[str, dict[str, str]], str, str]] = {
    "the environment replaces whole entries": (
        {
            "base": {"catalog.yml": "a:\n  type: pandas.CSVDataset\n  filepath: a.csv\n"},
            "local": {"catalog.yml": "a:\n  filepath: b.csv\n"},
        },
        "destructive",
        "fast",
    ),
    "a soft merge keeps the base type": (
        {
            "base": {"catalog.yml": "a:\n  type: pandas.CSVDataset\n  filepath: a.csv\n"},
            "local": {"catalog.yml": "a:\n  filepath: b.csv\n"},
        },
        "soft",
        "fast",
    ),
    "anchors and merge keys": (
        {
            "base": {
                "catalog.yml": "_csv: &csv\n  type: pandas.CSVDataset\n"
                "a:\n  <<: *csv\n  filepath: a.csv\n"
                "b:\n  <<: *csv\n  type: pandas.ParquetDataset\n"
            }
        },
        "destructive",
        "fast",
    ),
    "globals in file paths are not resolved": (
        {"base": {"catalog.yml": "a:\n  type: pandas.CSVDataset\n  filepath: ${globals:root}\n"}},
        "destructive",
        "fast",
    ),
    "a type from a helper key": (
        {"base": {"catalog.yml": "_t:\n  type: pandas.CSVDataset\na:\n  type: ${_t.type}\n"}},
        "destructive",
        "Kedro's loader",
    ),
    "a factory and a catch-all": (
        {
            "base": {
                "catalog/factories.yml": '"{name}_csv":\n  type: pandas.CSVDataset\n'
                '"{default}":\n  type: pickle.PickleDataset\n'
            }
        },
        "destructive",
        "fast",
    ),
    "hidden files and other names are not read": (
        {
            "base": {
                ".hidden/catalog.yml": "a:\n  type: x.Hidden\n",
                "catalog/.part.yml": "a:\n  type: x.Hidden\n",
                "catalog.txt": "a:\n  type: x.Text\n",
                "catalog.yml": "a:\n  type: pandas.CSVDataset\n",
            }
        },
        "destructive",
        "fast",
    ),
    "a key twice in one environment": (
        {"base": {"catalog.yml": "a:\n  type: A\n", "catalog/more.yml": "a:\n  type: B\n"}},
        "destructive",
        "refused",
    ),
    "anchors and aliases": (
        {
            "base": {
                "catalog.yml": "_t: &t pandas.CSVDataset\na:\n  type: *t\n"
                "b: &b\n  type: B\n  filepath: b\nc: *b\nd: &d [1, 2]\ne: *d\n"
            }
        },
        "destructive",
        "fast",
    ),
    "merge keys at the top": (
        {"base": {"catalog.yml": "_m: &m\n  a: {type: A}\n  b: {type: X}\n<<: *m\nb: {type: B}\n"}},
        "destructive",
        "fast",
    ),
    "merge keys inside entries, from a list": (
        {
            "base": {
                "catalog.yml": "_x: &x {type: X, filepath: x}\n"
                "_y: &y {type: Y, save_args: {n: 1}}\n"
                "a:\n  <<: [*x, *y]\nb:\n  <<: [*y, *x]\n  filepath: b\n"
            }
        },
        "destructive",
        "fast",
    ),
    "a key twice inside an entry": (
        {"base": {"catalog.yml": "a:\n  type: A\n  save_args:\n    x: 1\n    x: 2\n"}},
        "destructive",
        "refused",
    ),
    "a type twice in an entry": (
        {"base": {"catalog.yml": 'a:\n  type: A\n  "type": B\n'}},
        "destructive",
        "refused",
    ),
    "types that are no text": (
        {"base": {"catalog.yml": "a: {type: null}\nb: {type: 1}\nc:\n  type: true\n  f: x\n"}},
        "soft",
        "fast",
    ),
    "a quoted type key": (
        {"base": {"catalog.yml": "a:\n  \"type\": pandas.CSVDataset\nb: {'type': B}\n"}},
        "destructive",
        "fast",
    ),
    "entries that are no mapping": (
        {"base": {"catalog.yml": "a: text\nb: 1\nc: ~\nd: [x, {type: T}]\ne:\nf: {}\n"}},
        "destructive",
        "fast",
    ),
    "an entry that is an interpolation": (
        {"base": {"catalog.yml": "_v: {type: A}\na: ${_v}\nb: {type: B}\n"}},
        "destructive",
        "Kedro's loader",
    ),
    "an int key at the top": (
        {"base": {"catalog.yml": "1:\n  type: A\nb:\n  type: B\n"}},
        "destructive",
        "refused",  # Kedro's loader refuses it
    ),
    "a bool key at the top": (
        {"base": {"catalog.yml": "true:\n  type: A\nb:\n  type: B\n"}},
        "destructive",
        "refused",  # Kedro's loader refuses it
    ),
    "text and binary tags": (
        {
            "base": {
                "catalog.yml": "!!str 1:\n  type: !!str 2\n  raw: !!binary aGVsbG8=\n"
                "b:\n  type: !!binary aGVsbG8=\n"
            }
        },
        "destructive",
        "fast",
    ),
    "a custom tag": (
        {"base": {"catalog.yml": "a:\n  type: A\n  f: !foo x\n"}},
        "destructive",
        "refused",
    ),
    "two documents": (
        {"base": {"catalog.yml": "a: {type: A}\n---\nb: {type: B}\n"}},
        "destructive",
        "refused",
    ),
    "empty files": (
        {
            "base": {"catalog.yml": "", "catalog/part.yml": "# nothing\n"},
            "local": {"catalog.yml": "a: {type: A}\n", "catalog/empty.yml": "\n"},
        },
        "soft",
        "fast",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_catalog_cases(case: str, tmp_path: Path) -> None:
    folders, strategy, path = CASES[case]
    conf = _write(tmp_path, folders)
    assert assert_same_as_kedro(conf, "local", strategy) == path


def test_a_key_twice_is_a_one_line_error(tmp_path: Path) -> None:
    conf = _write(
        tmp_path,
        {"base": {"catalog.yml": "a:\n  type: A\n", "catalog/more.yml": "a:\n  type: B\n"}},
    )
    with pytest.raises(ConfigError) as error:
        catalog_entries(_loader(conf, "local", "destructive"))
    assert error.value.message.startswith("catalog config: Duplicate keys found in ")
    assert "\n" not in error.value.message


def test_a_catalog_file_beyond_omegaconfs_node_limit_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OmegaConf reads at most 10,000 YAML nodes per file (about 2,000 entries), and so does
    Kedro; the error names the file and what to do. With OMEGACONF_MAX_YAML_EXPANDED_NODES
    raised, both read it."""
    text = "".join(f"d{i}:\n  type: pickle.PickleDataset\n  filepath: d{i}\n" for i in range(2100))
    conf = _write(tmp_path, {"base": {"catalog.yml": text}})
    monkeypatch.delenv("OMEGACONF_MAX_YAML_EXPANDED_NODES", raising=False)
    with pytest.raises(Exception, match="exceeds the configured limit"):
        _loader(conf, "local", "destructive")["catalog"]  # Kedro's loader, as in kedro run
    with pytest.raises(ConfigError) as error:
        catalog_entries(_loader(conf, "local", "destructive"), tmp_path)
    assert error.value.message.startswith(
        "conf/base/catalog.yml: more YAML nodes than OmegaConf reads in one file "
        "(YAML node expansion exceeds the configured limit of 10000)"
    )
    assert "OMEGACONF_MAX_YAML_EXPANDED_NODES" in error.value.message
    monkeypatch.setenv("OMEGACONF_MAX_YAML_EXPANDED_NODES", "100000")
    assert assert_same_as_kedro(conf, "local", "destructive") == "fast"
    assert len(catalog_entries(_loader(conf, "local", "destructive"))) == 2100


def test_a_key_twice_inside_an_entry_is_a_one_line_error(tmp_path: Path) -> None:
    text = "a:\n  type: A\n  save_args:\n    x: 1\n    x: 2\n"
    conf = _write(tmp_path, {"base": {"catalog.yml": text}})
    with pytest.raises(Exception, match="found duplicate key x"):
        _loader(conf, "local", "destructive")["catalog"]  # Kedro's loader
    with pytest.raises(ConfigError) as error:
        catalog_entries(_loader(conf, "local", "destructive"), tmp_path)
    assert error.value.message == (
        "conf/base/catalog.yml: invalid YAML: found duplicate key x (line 5, column 5)"
    )


UNBUILDABLE = {
    "an int without digits": (
        "a:\n  type: A\n  load_args:\n    sep: 0x_\n",
        "conf/base/catalog.yml: invalid YAML: '0x_' reads as a YAML int but is not one "
        "(line 4, column 10: invalid literal for int() with base 16: ''); quote it if it is text",
    ),
    "a quoted int without digits with the non-specific tag": (
        "a:\n  type: A\n  sep: ! '0x_'\n",
        "conf/base/catalog.yml: invalid YAML: '0x_' reads as a YAML int but is not one "
        "(line 3, column 8: invalid literal for int() with base 16: ''); drop the ! tag if it "
        "is text",
    ),
    "a plain int without digits with the non-specific tag": (
        "a:\n  type: A\n  sep: ! 0x_\n",
        "conf/base/catalog.yml: invalid YAML: '0x_' reads as a YAML int but is not one "
        "(line 3, column 8: invalid literal for int() with base 16: ''); quote it and drop the "
        "! tag if it is text",
    ),
    "a float tag on a long text": (
        "a:\n  type: A\n  f: !!float " + "x" * 3000 + "\n",
        "conf/base/catalog.yml: invalid YAML: '" + "x" * 40 + "...' is tagged !!float but is "
        "not one (line 3, column 6: could not convert string to float: '" + "x" * 124 + "...)",
    ),
    "an int longer than Python converts": (
        "a:\n  type: A\n  n: " + "1" * 5000 + "\n",
        "conf/base/catalog.yml: invalid YAML: '" + "1" * 40 + "...' reads as a YAML int but is "
        "not one (line 3, column 6: Exceeds the limit (4300 digits) for integer string "
        "conversion: value has 5000 digits; use sys.set_int_max_str_digits() to increase the "
        "limit); quote it if it is text",
    ),
    "a bool tag on a text": (
        "a:\n  type: !!bool maybe\n",
        "conf/base/catalog.yml: invalid YAML: 'maybe' is tagged !!bool but is not one "
        "(line 2, column 9)",
    ),
    "a float tag on a text": (
        "a:\n  type: A\n  f: !!float x\n",
        "conf/base/catalog.yml: invalid YAML: 'x' is tagged !!float but is not one "
        "(line 3, column 6: could not convert string to float: 'x')",
    ),
    "an int without digits in a file built whole": (
        "a:\n  type: A\n  x: " + "[" * 70 + "]" * 70 + "\n  n: 0x_\n",
        "conf/base/catalog.yml: invalid YAML: ValueError: invalid literal for int() with base "
        "16: ''",
    ),
    "an int tag without a value in a file built whole": (
        "a:\n  type: A\n  x: " + "[" * 70 + "]" * 70 + "\n  n: !!int\n",
        "conf/base/catalog.yml: invalid YAML: IndexError: string index out of range",
    ),
    "a timestamp tag on a text": (
        "a:\n  type: A\n  t: !!timestamp x\n",
        "conf/base/catalog.yml: invalid YAML: AttributeError: 'NoneType' object has no attribute "
        "'groupdict'",
    ),
}


@pytest.mark.parametrize("case", list(UNBUILDABLE))
def test_a_value_yaml_cannot_build_is_a_one_line_error_naming_it(case: str, tmp_path: Path) -> None:
    """A scalar that YAML's resolver or an explicit tag makes an int, float or bool but that
    cannot be built fails Kedro's loader with the constructor's bare error (``KeyError:
    'maybe'``); compile names the file, the line and what to do."""
    text, message = UNBUILDABLE[case]
    conf = _write(tmp_path, {"base": {"catalog.yml": text}})
    with pytest.raises((ValueError, KeyError, IndexError, AttributeError)):
        _loader(conf, "local", "destructive")["catalog"]  # Kedro's loader
    with pytest.raises(ConfigError) as error:
        catalog_entries(_loader(conf, "local", "destructive"), tmp_path)
    assert error.value.message == message


@pytest.mark.parametrize(
    ("text", "fixed"),
    [
        ("! 0x_", "'0x_'"),
        ("! '0x_'", "'0x_'"),
        ('! "0x_"', '"0x_"'),
        ("! |\n    0x_", "|\n    0x_"),
    ],
)
def test_the_fix_an_unbuildable_value_with_the_non_specific_tag_is_told_makes_it_text(
    text: str, fixed: str, tmp_path: Path
) -> None:
    """PyYAML resolves a value with the non-specific ``!`` tag as it would a plain one, quoted
    or not: a plain one needs quoting besides, and the fix the message tells is the one that
    makes Kedro's loader read it as text."""
    conf = _write(tmp_path, {"base": {"catalog.yml": f"a:\n  type: A\n  sep: {text}\n"}})
    with pytest.raises(ConfigError) as error:
        catalog_entries(_loader(conf, "local", "destructive"), tmp_path)
    plain = text == "! 0x_"
    assert error.value.message.endswith(
        "; quote it and drop the ! tag if it is text" if plain else "; drop the ! tag if it is text"
    )
    untagged = text.removeprefix("! ")
    (conf / "base" / "catalog.yml").write_text(f"a:\n  type: A\n  sep: {untagged}\n")
    if plain:  # dropping the tag alone leaves a plain value that still fails
        with pytest.raises(ValueError, match="invalid literal for int"):
            _loader(conf, "local", "destructive")["catalog"]
    (conf / "base" / "catalog.yml").write_text(f"a:\n  type: A\n  sep: {fixed}\n")
    assert _loader(conf, "local", "destructive")["catalog"]["a"]["sep"].strip() == "0x_"


def test_an_error_of_reading_the_events_is_not_told_as_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the errors of building a file whole (OmegaConf's loader, as Kedro's loader builds
    it) are the file's; a failure of the plugin's own reading shows as the plugin's."""
    import kedro_airflow_k8s.catalog_config as catalog_config

    def failing(loader: Any, limit: int | None) -> Any:
        raise TypeError("a stand-in for a fault of the event reader")

    monkeypatch.setattr(catalog_config, "_plain_entries", failing)
    conf = _write(tmp_path, {"base": {"catalog.yml": "a:\n  type: A\n"}})
    with pytest.raises(TypeError, match="stand-in"):
        catalog_entries(_loader(conf, "local", "destructive"), tmp_path)


def test_a_value_yaml_cannot_build_is_named_where_kedros_loader_reads_the_catalog(
    tmp_path: Path,
) -> None:
    """An interpolated ``type`` leaves the catalog to Kedro's loader, which reads every file and
    fails on such a value with the conversion's bare error; compile then names the file and the
    line all the same. Kedro's other errors stay its own."""
    helper = "_kind: pandas.CSVDataset\nfirst:\n  type: ${_kind}\n"
    bad = "second:\n  type: A\n  load_args:\n    sep: 0x_\n"
    conf = _write(
        tmp_path,
        {"base": {"catalog.yml": helper}, "local": {"catalog/part.yml": bad}},
    )
    assert read_catalog_types(_loader(conf, "local", "destructive")) is None  # Kedro's loader
    with pytest.raises(ValueError, match="invalid literal for int"):
        _loader(conf, "local", "destructive")["catalog"]
    with pytest.raises(ConfigError) as error:
        catalog_entries(_loader(conf, "local", "destructive"), tmp_path)
    assert error.value.message == (
        "conf/local/catalog/part.yml: invalid YAML: '0x_' reads as a YAML int but is not one "
        "(line 4, column 10: invalid literal for int() with base 16: ''); quote it if it is text"
    )
    assert unreadable_catalog_file(_loader(conf, "base", "destructive"), tmp_path) is None
    (conf / "local" / "catalog" / "part.yml").write_text("second:\n  type: ${nowhere}\n")
    with pytest.raises(ConfigError) as error:
        catalog_entries(_loader(conf, "local", "destructive"), tmp_path)
    assert error.value.message.startswith("catalog config: ")  # an interpolation: Kedro's words
    assert unreadable_catalog_file(_loader(conf, "local", "destructive"), tmp_path) is None


@pytest.mark.parametrize("limit", ["31", "30", "none"])
def test_the_node_limit_is_read_when_kedro_reads_it(
    limit: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five entries of six nodes and the top mapping: 31 YAML nodes. The limit is taken from
    OMEGACONF_MAX_YAML_EXPANDED_NODES when the catalog is read (not when the loader is made),
    by Kedro's loader and by compile alike."""
    text = "".join(f"d{i}:\n  type: pickle.PickleDataset\n  filepath: d{i}\n" for i in range(5))
    conf = _write(tmp_path, {"base": {"catalog.yml": text}})
    monkeypatch.delenv("OMEGACONF_MAX_YAML_EXPANDED_NODES", raising=False)
    kedros, ours = _loader(conf, "local", "destructive"), _loader(conf, "local", "destructive")
    monkeypatch.setenv("OMEGACONF_MAX_YAML_EXPANDED_NODES", limit)
    if limit == "30":
        with pytest.raises(Exception, match="exceeds the configured limit of 30"):
            kedros["catalog"]
        with pytest.raises(ConfigError) as error:
            read_catalog_types(ours, tmp_path)
        assert error.value.message.startswith(
            "conf/base/catalog.yml: more YAML nodes than OmegaConf reads in one file "
            "(YAML node expansion exceeds the configured limit of 30)"
        )
    else:
        expected = {f"d{i}": "pickle.PickleDataset" for i in range(5)}
        assert _types(kedros["catalog"]) == expected
        fast = read_catalog_types(ours)
        assert fast is not None
        assert _types(fast) == expected
        read = _omegaconf_yaml_loader()
        assert read is not None
        assert read(text) == {name: {"type": kind} for name, kind in expected.items()}  # types only


def test_another_loader_class_is_asked_for_the_whole_catalog(tmp_path: Path) -> None:
    class OwnLoader(OmegaConfigLoader):
        pass

    conf = _write(tmp_path, {"base": {"catalog.yml": "a:\n  type: pandas.CSVDataset\n"}})
    own = OwnLoader(conf_source=str(conf), env="local", base_env="base", default_run_env="local")
    assert read_catalog_types(own) is None
    assert catalog_entries(own)["a"]["type"] == "pandas.CSVDataset"


# catalog files -> whether compile builds of them only the entries' types ("fast") or the whole
# file ("whole"), as yaml.load with OmegaConf's loader does
NESTED: dict[str, tuple[str, str]] = {
    "typed values": (
        "a:\n  type: A\n  n: 1\n  f: 1.5\n  ok: true\n  none: ~\n  l: [1, {b: c}]\n",
        "fast",
    ),
    "types that are no text": (
        "a: {type: null}\nb: {type: 1}\nc: {type: true}\nd: {type: 0x1f}\n",
        "fast",
    ),
    "a type that is a mapping or a list": ("a: {type: {x: 1}}\nb: {type: [1, x]}\n", "whole"),
    "a quoted or tagged type key": (
        "'a': {\"type\": A}\nb: {!!str type: B}\nc: {type: !!str 1}\n",
        "fast",
    ),
    "entries that are no mapping": (
        "a: text\nb: 1\nc: ~\nd: [1, 2]\ne: ${x}\nf: '${y}'\ng:\n  type: ${z}\n",
        "fast",
    ),
    "int keys twice inside an entry": ("a:\n  type: A\n  1: x\n  1: y\n", "fast"),
    "keys and values that resolvers look at": (
        "a: {type: A, filepath: f, 'true': y, n: no, o: off, t: 2020-01-01, e: '', z: 0o7}\n"
        "b: {type: true, filepath: ~}\nc: {type: 'yes'}\nd: {type: .inf}\ne: {type: 1_0}\n",
        "fast",
    ),
    "resolver-looking texts and values repeated": (
        "a: {type: A, filepath: f, n: no, t: true, o: 0o7, e: '1'}\n"
        "b: {type: A, filepath: f, n: no, t: true, o: 0o7, e: 1, 'no': no}\n"
        "c: {type: true, filepath: 'true', no: f}\nd: no\ne: filepath\nf: 'no'\ng: true\n",
        "fast",
    ),
    "a value nested deep": ("a:\n  type: A\n  x: " + "[" * 62 + "]" * 62 + "\n", "fast"),
    "a value nested deeper than read from events": (
        "a:\n  type: A\n  x: " + "[" * 63 + "]" * 63 + "\n",
        "whole",
    ),
    "a type nested deeper than read from events": (
        "a:\n  x: " + "[" * 300 + "]" * 300 + "\n  type: A\n",
        "whole",
    ),
    "a value nested beyond YAML's depth": (
        "a:\n  type: A\n  x: " + "[" * 1001 + "]" * 1001 + "\n",
        "whole",
    ),
    "an anchor given twice": ("a: &x {type: A}\nb: &x {type: B}\n", "whole"),
    "an explicit non-specific tag": ("a: {type: ! 1}\nb: ! {type: B}\n", "fast"),
    "a JSON file": ('{"a": {"type": "A", "n": [1, 2.5, null, false]}, "b": {}}', "fast"),
    "no file content": ("", "whole"),
    "only a comment": ("# nothing\n", "whole"),
    "a null document": ("~\n", "whole"),
    "a list document": ("- a\n- b\n", "whole"),
    "a text document": ("just text\n", "whole"),
    "an int key at the top": ("1:\n  type: A\nb:\n  type: B\n", "whole"),
    "a bool key at the top": ("true:\n  type: A\n", "whole"),
    "a null key at the top": ("~: {type: A}\n", "whole"),
    "a shared entry": ("a: &a\n  type: A\nb: *a\nc: text\nd: [1]\ne: 3\n", "whole"),
    "an anchor on a type": ("a: {type: &t A}\nb: {type: *t}\n", "whole"),
    "an anchor without an alias": ("a: &a {type: A}\n", "fast"),
    "a merge key": ("_base: &base\n  type: A\nb:\n  <<: *base\n  filepath: x\n", "whole"),
    "merge keys at the top": ("_m: &m\n  a: {type: A}\n<<: *m\nb: {type: B}\n", "whole"),
    "a merge of a list": (
        "_x: &x {type: X}\n_y: &y {type: Y, f: 1}\nb:\n  <<: [*x, *y]\n",
        "whole",
    ),
    "a merge key overridden": ("_b: &b {type: A}\nc:\n  <<: *b\n  type: C\n", "whole"),
    "an = key": ("a:\n  =: v\n  type: A\n", "whole"),
    "a recursive alias": ("a: &a\n  type: A\n  self: *a\n", "whole"),
    "a set": ("a:\n  type: A\n  columns: !!set {x, y}\n", "whole"),
    "binary": ("a:\n  type: !!binary aGVsbG8=\n", "whole"),
    "an ordered map": ("a: !!omap [x: 1, y: 2]\n", "whole"),
    "a path": ("a:\n  type: A\n  p: !!python/object/apply:pathlib.Path [x]\n", "whole"),
    "a list as a key": ("a:\n  type: A\n  ? [x, y]\n  : z\n", "whole"),
    "a mapping as a key": ("a:\n  type: A\n  ? {x: y}\n  : z\n", "whole"),
    # errors: the same error as the whole build
    "a key twice at the top": ("a: {type: A}\na: {type: B}\n", "whole"),
    "a key twice inside an entry": ("a:\n  type: A\n  save_args:\n    x: 1\n    x: 2\n", "whole"),
    "a type twice": ("a:\n  type: A\n  'type': B\n", "whole"),
    "a value that is no int": ("a:\n  type: A\n  load_args:\n    n: !!int many\n", "whole"),
    "a value that is no bool": ("a:\n  type: !!bool maybe\n", "whole"),
    "a value that is no float": ("a:\n  type: A\n  f: !!float x\n", "whole"),
    "an int without digits": ("a:\n  type: A\n  n: 0x_\n", "whole"),
    "a mapping tagged as text": ("a: !!str {type: A}\n", "whole"),
    "a custom tag": ("a:\n  type: !foo A\n", "whole"),
    "two documents": ("a: {type: A}\n---\nb: {type: B}\n", "whole"),
    "an undefined alias": ("a: *nowhere\n", "whole"),
    "invalid YAML": ("a: [\n", "whole"),
}


def _path_taken(text: str) -> str:
    """Whether compile reads ``text`` from its events ("fast") or builds it whole; an error
    while reading the events is the error of building it whole (checked by the caller)."""
    from omegaconf._yaml import get_yaml_loader

    loader = get_yaml_loader()(text)
    try:
        entries = _plain_entries(loader, 10_000)
    except Exception:
        return "whole"
    finally:
        loader.dispose()
    return "fast" if isinstance(entries, dict) else "whole"


def _as_read(value: Any) -> Any:
    """What compile keeps of an entry (:func:`_reduced` without refusing interpolations)."""
    if isinstance(value, Mapping):
        return {"type": value["type"]} if "type" in value else {}
    return value if isinstance(value, str) else None


@pytest.mark.parametrize("case", list(NESTED))
def test_entries_are_read_as_omegaconf_builds_them(case: str) -> None:
    """Compile builds of a plain catalog file only its keys and entries' types, and builds any
    other file whole: the result, or the error, is that of OmegaConf's loader building it."""
    import yaml
    from omegaconf._yaml import get_yaml_loader

    text, path = NESTED[case]
    read = _omegaconf_yaml_loader()
    assert read is not None
    assert _path_taken(text) == path
    try:
        whole = yaml.load(text, Loader=get_yaml_loader())
    except Exception as error:
        assert path == "whole"
        with pytest.raises(Exception) as raised:
            read(text)
        found = raised.value
        if isinstance(found, (_Unbuildable, _BuildFailed)):  # the constructor's error
            found = found.error
        assert type(found) is type(error)
        assert str(found) == str(error)
        return
    if path == "whole":
        assert read(text) == whole
    else:
        assert read(text) == {k: _as_read(v) for k, v in (whole or {}).items()}
