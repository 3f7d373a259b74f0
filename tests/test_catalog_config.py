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

from kedro_airflow_k8s.catalog_config import read_catalog_types
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


def test_another_loader_class_is_asked_for_the_whole_catalog(tmp_path: Path) -> None:
    class OwnLoader(OmegaConfigLoader):
        pass

    conf = _write(tmp_path, {"base": {"catalog.yml": "a:\n  type: pandas.CSVDataset\n"}})
    own = OwnLoader(conf_source=str(conf), env="local", base_env="base", default_run_env="local")
    assert read_catalog_types(own) is None
    assert catalog_entries(own)["a"]["type"] == "pandas.CSVDataset"


NESTED = {
    "a key twice inside an entry": "a:\n  type: A\n  save_args:\n    x: 1\n    x: 2\n",
    "a value that is no int": "a:\n  type: A\n  load_args:\n    n: !!int many\n",
    "a merge key": "_base: &base\n  type: A\nb:\n  <<: *base\n  filepath: x\n",
    "a set": "a:\n  type: A\n  columns: !!set {x, y}\n",
    "typed values": "a:\n  type: A\n  n: 1\n  f: 1.5\n  ok: true\n  none: ~\n  l: [1, {b: c}]\n",
    "a shared entry": "a: &a\n  type: A\nb: *a\nc: text\nd: [1]\ne: 3\n",
}


@pytest.mark.parametrize("case", list(NESTED))
def test_entries_are_read_as_omegaconf_builds_them(case: str) -> None:
    """Compile builds only the top level of a catalog file and each entry's type, and checks
    the rest: the result, or the error, is OmegaConf's (built whole)."""
    import yaml
    from omegaconf._yaml import get_yaml_loader

    from kedro_airflow_k8s.catalog_config import _omegaconf_yaml_loader, _reduced

    text = NESTED[case]
    read = _omegaconf_yaml_loader()
    assert read is not None
    try:
        whole = yaml.load(text, Loader=get_yaml_loader())
    except Exception as error:
        with pytest.raises(type(error)) as raised:
            read(text)
        assert str(raised.value) == str(error)
        return
    assert {k: _reduced(v) for k, v in read(text).items()} == {
        k: _reduced(v) for k, v in whole.items()
    }
