"""Reading kedro-airflow-k8s.yaml through a real Kedro OmegaConfigLoader over a temporary conf
folder."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from kedro.config import OmegaConfigLoader

from kedro_airflow_k8s.config import legacy_config_notes, parse_config, read_raw_config
from kedro_airflow_k8s.errors import EXIT_INPUT, PLUGIN_CONFIG, ConfigError, PluginConfigError

pytestmark = pytest.mark.filterwarnings(
    r"ignore:register_new_resolver\(\) is deprecated:UserWarning"
)

BASE = """
host: https://airflow.example.com
output: gs://bucket/dags
run_config:
  image: repo/image:base
  namespace: pipelines
  run_name: spaceflights
  secrets:
    - secret: base-secret
  resources:
    __default__:
      requests:
        cpu: 500m
        memory: 1Gi
      limits:
        cpu: "1"
    gpu:
      limits:
        nvidia.com/gpu: 1
"""


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    root = tmp_path / "conf"
    for env in ("base", "local", "prod"):
        (root / env).mkdir(parents=True)
    return root


def write(conf: Path, relative: str, text: str) -> Path:
    path = conf / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def loader(conf: Path, env: str | None = None, **kwargs: Any) -> OmegaConfigLoader:
    return OmegaConfigLoader(str(conf), env=env, base_env="base", default_run_env="local", **kwargs)


def read(conf: Path, env: str | None = None, fallbacks: Any = None, **kwargs: Any) -> dict:
    return read_raw_config(loader(conf, env, **kwargs), fallbacks)


def failure(conf: Path, env: str | None = None, fallbacks: Any = None, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        read(conf, env, fallbacks, **kwargs)
    message = caught.value.message
    assert "\n" not in message
    return message


# --- which files ---------------------------------------------------------------------------------


def test_airflow_k8s_yaml(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", "run_config:\n  image: a/b:1\n")
    assert read(conf) == {"run_config": {"image": "a/b:1"}}


def test_airflow_k8s_yml(conf):
    write(conf, "base/kedro-airflow-k8s.yml", "run_config:\n  image: a/b:1\n")
    assert read(conf) == {"run_config": {"image": "a/b:1"}}


def test_files_in_an_airflow_k8s_folder(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", "host: https://airflow\n")
    write(conf, "base/kedro-airflow-k8s/run.yaml", "run_config:\n  image: a/b:1\n")
    write(conf, "base/kedro-airflow-k8s/deeper/output.yml", "output: s3://bucket/dags\n")
    assert read(conf) == {
        "host": "https://airflow",
        "run_config": {"image": "a/b:1"},
        "output": "s3://bucket/dags",
    }


def test_only_a_folder(conf):
    write(conf, "base/kedro-airflow-k8s/settings.yaml", "run_config:\n  namespace: ns\n")
    assert read(conf) == {"run_config": {"namespace": "ns"}}


def test_other_files_are_not_read(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", "run_config:\n  image: a/b:1\n")
    write(conf, "base/catalog.yml", "companies:\n  type: pandas.CSVDataset\n")
    write(conf, "base/parameters.yml", "run_config:\n  image: not/this:1\n")
    assert read(conf) == {"run_config": {"image": "a/b:1"}}


def test_empty_file_gives_the_defaults(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", "")
    assert read(conf) == {}
    assert parse_config(read(conf)).run_config.namespace == "default"


def test_the_pattern_is_added_to_the_loader(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", "host: https://airflow\n")
    config_loader = loader(conf)
    assert "airflow-k8s" not in config_loader.config_patterns
    read_raw_config(config_loader)
    assert config_loader.config_patterns["airflow-k8s"] == [
        "kedro-airflow-k8s*",
        "kedro-airflow-k8s/**",
        "airflow-k8s*",
        "airflow-k8s/**",
    ]


def test_project_patterns_are_kept(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", "host: https://ignored\n")
    write(conf, "base/deployment/airflow.yaml", "host: https://airflow\n")
    config_loader = loader(conf, config_patterns={"airflow-k8s": ["deployment/airflow*"]})
    assert read_raw_config(config_loader) == {"host": "https://airflow"}
    assert config_loader.config_patterns["airflow-k8s"] == ["deployment/airflow*"]


# --- the old name, which kedro-airflow's "airflow*" pattern reads too ----------------------------


def test_the_old_name_is_still_read_with_a_note(conf):
    write(conf, "base/airflow-k8s.yaml", "run_config:\n  image: a/b:1\n")
    write(conf, "prod/airflow-k8s/image.yml", "run_config:\n  image: a/b:2\n")
    write(conf, "prod/airflow-k8s.yml", "host: https://airflow\n")
    config_loader = loader(conf, "prod")
    assert read_raw_config(config_loader) == {
        "run_config": {"image": "a/b:2"},
        "host": "https://airflow",
    }
    assert legacy_config_notes(config_loader) == [
        f"{folder}/{old}: rename it to {new}; the old name is still read, but kedro-airflow's "
        "`airflow*` config pattern reads it too and fails on its ${kedro_config:...} values"
        for folder, old, new in (
            ("conf/base", "airflow-k8s.yaml", "kedro-airflow-k8s.yaml"),
            ("conf/prod", "airflow-k8s.yml", "kedro-airflow-k8s.yml"),
            ("conf/prod", "airflow-k8s/", "kedro-airflow-k8s/"),
        )
    ]


def test_the_new_name_gives_no_note(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", "run_config:\n  image: a/b:1\n")
    write(conf, "local/kedro-airflow-k8s/more.yaml", "host: https://airflow\n")
    config_loader = loader(conf)
    read_raw_config(config_loader)
    assert legacy_config_notes(config_loader) == []


def test_both_names_in_one_folder_is_an_error(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", "run_config:\n  image: a/b:1\n")
    write(conf, "base/airflow-k8s.yaml", "run_config:\n  image: a/b:1\n")
    assert failure(conf) == (
        "airflow-k8s config: conf/base holds both kedro-airflow-k8s.yaml and airflow-k8s.yaml: "
        "keep kedro-airflow-k8s.yaml only (the old name is read too, so both would apply)"
    )


def test_kedro_airflows_pattern_does_not_read_the_new_name(conf):
    """kedro-airflow loads ``config_patterns["airflow"] = ["airflow*", "airflow/**"]``."""
    write(conf, "base/kedro-airflow-k8s.yaml", "run_config:\n  image: ${kedro_config:x,y}\n")
    write(conf, "base/kedro-airflow-k8s/more.yml", "host: ${kedro_config:h,i}\n")
    write(conf, "base/airflow.yml", "default:\n  owner: me\n")
    config_loader = loader(conf, config_patterns={"airflow": ["airflow*", "airflow/**"]})
    assert config_loader["airflow"] == {"default": {"owner": "me"}}


# --- environments -------------------------------------------------------------------------------


def test_local_environment_is_the_default_overlay(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", BASE)
    write(conf, "local/kedro-airflow-k8s.yml", "run_config:\n  image: repo/image:local\n")
    raw = read(conf)
    assert raw["run_config"]["image"] == "repo/image:local"
    assert raw["run_config"]["namespace"] == "pipelines"


def test_environment_overlays_base_key_by_key(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", BASE)
    write(conf, "local/kedro-airflow-k8s.yaml", "run_config:\n  image: repo/image:local\n")
    write(conf, "prod/kedro-airflow-k8s.yaml", "run_config:\n  image: repo/image:prod\n")
    assert read(conf, "prod") == {
        "host": "https://airflow.example.com",
        "output": "gs://bucket/dags",
        "run_config": {
            "image": "repo/image:prod",
            "namespace": "pipelines",
            "run_name": "spaceflights",
            "secrets": [{"secret": "base-secret"}],
            "resources": {
                "__default__": {
                    "requests": {"cpu": "500m", "memory": "1Gi"},
                    "limits": {"cpu": "1"},
                },
                "gpu": {"limits": {"nvidia.com/gpu": 1}},
            },
        },
    }


def test_environment_overlays_nested_resources(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", BASE)
    write(
        conf,
        "prod/kedro-airflow-k8s.yaml",
        """
        run_config:
          resources:
            __default__:
              requests:
                memory: 4Gi
            big:
              requests:
                memory: 64Gi
        """,
    )
    resources = read(conf, "prod")["run_config"]["resources"]
    assert resources == {
        "__default__": {"requests": {"cpu": "500m", "memory": "4Gi"}, "limits": {"cpu": "1"}},
        "gpu": {"limits": {"nvidia.com/gpu": 1}},
        "big": {"requests": {"memory": "64Gi"}},
    }
    typed = parse_config(read(conf, "prod")).run_config
    assert typed.image == "repo/image:base"
    assert typed.resources["__default__"].requests == {"cpu": "500m", "memory": "4Gi"}
    assert typed.resources["gpu"].limits == {"nvidia.com/gpu": "1"}


def test_environment_replaces_lists(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", BASE)
    write(
        conf, "prod/kedro-airflow-k8s.yaml", "run_config:\n  secrets:\n    - secret: prod-secret\n"
    )
    assert read(conf, "prod")["run_config"]["secrets"] == [{"secret": "prod-secret"}]


def test_environment_folder_files_overlay_too(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", BASE)
    write(conf, "prod/kedro-airflow-k8s/image.yaml", "run_config:\n  image: repo/image:prod\n")
    run_config = read(conf, "prod")["run_config"]
    assert run_config["image"] == "repo/image:prod"
    assert run_config["namespace"] == "pipelines"


def test_soft_merge_is_added_next_to_the_project_strategies(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", BASE)
    write(conf, "prod/kedro-airflow-k8s.yaml", "run_config:\n  image: repo/image:prod\n")
    config_loader = loader(conf, "prod", merge_strategy={"parameters": "soft"})
    assert read_raw_config(config_loader)["run_config"]["namespace"] == "pipelines"
    assert config_loader.merge_strategy == {"parameters": "soft", "airflow-k8s": "soft"}


def test_project_merge_strategy_is_kept(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", BASE)
    write(conf, "prod/kedro-airflow-k8s.yaml", "run_config:\n  image: repo/image:prod\n")
    config_loader = loader(conf, "prod", merge_strategy={"airflow-k8s": "destructive"})
    assert read_raw_config(config_loader) == {
        "host": "https://airflow.example.com",
        "output": "gs://bucket/dags",
        "run_config": {"image": "repo/image:prod"},
    }
    assert config_loader.merge_strategy == {"airflow-k8s": "destructive"}


# --- ${kedro_config:...} ------------------------------------------------------------------------

RESOLVED = """
run_config:
  image: repo/image:${kedro_config:commit_id,dirty}
  description: ${kedro_config:branch_name,main}
"""


def test_environment_variable_wins(conf, monkeypatch):
    write(conf, "base/kedro-airflow-k8s.yaml", RESOLVED)
    monkeypatch.setenv("KEDRO_CONFIG_COMMIT_ID", "from-env")

    def not_called() -> str:
        raise AssertionError("the git fallback must not run when the variable is set")

    raw = read(conf, fallbacks={"commit_id": not_called, "branch_name": lambda: "feature"})
    assert raw["run_config"] == {"image": "repo/image:from-env", "description": "feature"}


def test_git_fallback_when_the_variable_is_unset(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", RESOLVED)
    raw = read(conf, fallbacks={"commit_id": lambda: "abc1234", "branch_name": lambda: "develop"})
    assert raw["run_config"] == {"image": "repo/image:abc1234", "description": "develop"}


@pytest.mark.parametrize(
    "fallbacks", [None, {}, {"commit_id": lambda: None, "branch_name": lambda: ""}]
)
def test_default_without_git(conf, fallbacks):
    write(conf, "base/kedro-airflow-k8s.yaml", RESOLVED)
    raw = read(conf, fallbacks=fallbacks)
    assert raw["run_config"] == {"image": "repo/image:dirty", "description": "main"}


def test_empty_environment_variable_is_a_value(conf, monkeypatch):
    write(conf, "base/kedro-airflow-k8s.yaml", RESOLVED)
    monkeypatch.setenv("KEDRO_CONFIG_BRANCH_NAME", "")
    raw = read(conf, fallbacks={"branch_name": lambda: "develop"})
    assert raw["run_config"]["description"] == ""


def test_any_name_reads_its_variable(conf, monkeypatch):
    write(
        conf,
        "base/kedro-airflow-k8s.yaml",
        """
        run_config:
          namespace: ${kedro_config:namespace}
          spark:
            type: dataproc
            project_id: ${kedro_config:google_project_id}
            region: ${kedro_config:region,europe-west1}
            cluster_name: c-${kedro_config:workers,5}
            artifacts_path: gs://b/${kedro_config:google_project_id}
        """,
    )
    monkeypatch.setenv("KEDRO_CONFIG_NAMESPACE", "team-ns")
    monkeypatch.setenv("KEDRO_CONFIG_GOOGLE_PROJECT_ID", "gcp-project")
    raw = read(conf)
    assert raw["run_config"] == {
        "namespace": "team-ns",
        "spark": {
            "type": "dataproc",
            "project_id": "gcp-project",
            "region": "europe-west1",
            "cluster_name": "c-5",
            "artifacts_path": "gs://b/gcp-project",
        },
    }
    spark = parse_config(raw).run_config.spark
    assert spark is not None
    assert spark.project_id == "gcp-project"


def test_default_is_a_string(conf):
    write(
        conf,
        "base/kedro-airflow-k8s.yaml",
        "run_config:\n  description: ${kedro_config:retries,3}\n",
    )
    assert read(conf)["run_config"]["description"] == "3"


def test_resolver_in_the_environment_overlay(conf, monkeypatch):
    write(conf, "base/kedro-airflow-k8s.yaml", BASE)
    write(
        conf,
        "prod/kedro-airflow-k8s.yaml",
        "run_config:\n  image: repo/image:${kedro_config:commit_id}\n",
    )
    monkeypatch.setenv("KEDRO_CONFIG_COMMIT_ID", "c0ffee")
    run_config = read(conf, "prod")["run_config"]
    assert run_config["image"] == "repo/image:c0ffee"
    assert run_config["namespace"] == "pipelines"


def test_latest_fallbacks_are_used(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", RESOLVED)
    assert read(conf, fallbacks={"commit_id": lambda: "first"})["run_config"]["image"] == (
        "repo/image:first"
    )
    assert read(conf, fallbacks={"commit_id": lambda: "second"})["run_config"]["image"] == (
        "repo/image:second"
    )


def test_unset_variable_without_default(conf):
    write(
        conf,
        "base/kedro-airflow-k8s.yaml",
        "run_config:\n  spark:\n    type: dataproc\n    project_id: "
        "${kedro_config:google_project_id}\n",
    )
    assert failure(conf) == (
        "airflow-k8s config: run_config.spark.project_id: ${kedro_config:google_project_id} "
        "needs the environment variable KEDRO_CONFIG_GOOGLE_PROJECT_ID; set it or give a "
        "default after a comma, e.g. ${kedro_config:google_project_id,default-value}"
    )


def test_unset_commit_id_without_git_and_default(conf):
    write(
        conf,
        "base/kedro-airflow-k8s.yaml",
        "run_config:\n  image: repo/image:${kedro_config:commit_id}\n",
    )
    assert failure(conf, fallbacks={"commit_id": lambda: None}) == (
        "airflow-k8s config: run_config.image: ${kedro_config:commit_id} needs the environment "
        "variable KEDRO_CONFIG_COMMIT_ID; set it or give a default after a comma, e.g. "
        "${kedro_config:commit_id,default-value}"
    )


@pytest.mark.parametrize(
    "value",
    ["${commit_id|dirty}", "repo/image:${commit_id|dirty}", "${commit_id|dirty}-suffix"],
)
def test_legacy_syntax(conf, value):
    write(conf, "base/kedro-airflow-k8s.yaml", f'run_config:\n  image: "{value}"\n')
    assert failure(conf) == (
        "airflow-k8s config: run_config.image: ${commit_id|dirty} is the old syntax; write "
        "${kedro_config:commit_id,dirty} (reads KEDRO_CONFIG_COMMIT_ID)"
    )


def test_legacy_syntax_other_name(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", 'run_config:\n  run_name: "${branch_name|main}"\n')
    assert failure(conf) == (
        "airflow-k8s config: run_config.run_name: ${branch_name|main} is the old syntax; write "
        "${kedro_config:branch_name,main} (reads KEDRO_CONFIG_BRANCH_NAME)"
    )


def test_unknown_interpolation(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", "run_config:\n  image: ${missing_key}\n")
    assert failure(conf) == (
        "airflow-k8s config: run_config.image: Interpolation key 'missing_key' not found"
    )


# --- broken configuration -----------------------------------------------------------------------


def test_no_config_file(conf):
    write(conf, "base/catalog.yml", "{}\n")
    assert failure(conf) == (
        "no kedro-airflow-k8s.yaml in conf/base or conf/local: create one with "
        "`kedro airflow-k8s init`"
    )


def test_no_config_file_in_an_environment(conf):
    assert failure(conf, "prod") == (
        "no kedro-airflow-k8s.yaml in conf/base or conf/prod: create one with "
        "`kedro airflow-k8s init`"
    )


def test_an_environment_without_a_folder_is_not_a_missing_file(conf):
    write(conf, "base/airflow-k8s.yaml", "run_config:\n  image: a/b:1\n")
    assert failure(conf, "nope") == (
        f"environment 'nope' does not exist: there is no folder {conf / 'nope'} "
        "(environments: base, local, prod; -e/--env or KEDRO_ENV picks one)"
    )


def test_an_environment_that_is_a_file(conf):
    write(conf, "base/airflow-k8s.yaml", "run_config:\n  image: a/b:1\n")
    write(conf, "staging", "not a folder\n")
    assert failure(conf, "staging") == (
        f"environment 'staging' does not exist: {conf / 'staging'} is not a folder "
        "(environments: base, local, prod; -e/--env or KEDRO_ENV picks one)"
    )


def test_the_default_environment_without_a_folder(conf):
    write(conf, "base/airflow-k8s.yaml", "run_config:\n  image: a/b:1\n")
    (conf / "local").rmdir()
    assert failure(conf) == (
        f"environment 'local' does not exist: there is no folder {conf / 'local'} "
        "(environments: base, prod; -e/--env or KEDRO_ENV picks one)"
    )


def test_no_base_folder(conf):
    write(conf, "local/airflow-k8s.yaml", "run_config:\n  image: a/b:1\n")
    for child in (conf / "base").iterdir():
        child.unlink()
    (conf / "base").rmdir()
    assert failure(conf) == (
        f"the base environment 'base' does not exist: there is no folder {conf / 'base'}"
    )


def test_a_file_that_is_not_utf8_is_named(conf):
    write(conf, "base/airflow-k8s.yaml", "run_config:\n  image: a/b:1\n")
    bad = conf / "prod" / "airflow-k8s" / "extra.yml"
    bad.parent.mkdir()
    bad.write_bytes(b"run_config:\n  description: caf\xe9\n")
    assert failure(conf, "prod") == (
        f"airflow-k8s config: {bad} is not UTF-8 text (invalid continuation byte at byte 30)"
    )


def test_key_duplicated_in_two_base_files(conf):
    first = write(conf, "base/kedro-airflow-k8s.yaml", "run_config:\n  image: a/b:1\n")
    second = write(conf, "base/kedro-airflow-k8s/more.yaml", "run_config:\n  namespace: ns\n")
    message = failure(conf)
    assert message.startswith("airflow-k8s config: Duplicate keys found in ")
    assert first.as_posix() in message
    assert second.as_posix() in message
    assert message.endswith(": run_config")


def test_key_duplicated_in_one_file(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", "run_config:\n  image: a/b:1\n  image: a/b:2\n")
    assert failure(conf) == "airflow-k8s config: found duplicate key image (line 3, column 3)"


def test_invalid_yaml(conf):
    path = write(conf, "base/kedro-airflow-k8s.yaml", "run_config:\n  image: [a/b:1\n")
    message = failure(conf)
    assert message.startswith(f"airflow-k8s config: Invalid YAML or JSON file {path.as_posix()}")


@pytest.mark.parametrize(("text", "kind"), [("- 1\n- 2\n", "list"), ("5\n", "int")])
def test_file_that_is_not_a_mapping(conf, text, kind):
    write(conf, "base/kedro-airflow-k8s.yaml", text)
    assert failure(conf) == (
        f"airflow-k8s config: (top level): must be a mapping of keys, not {kind}"
    )


def test_errors_keep_their_cause(conf):
    # The cause is kept for whoever debugs with the exception; the CLI prints the message only.
    write(conf, "base/kedro-airflow-k8s.yaml", "run_config:\n  image: ${kedro_config:nothing}\n")
    with pytest.raises(ConfigError) as caught:
        read(conf)
    assert caught.value.__cause__ is not None


def test_plugin_config_error_names_the_config_in_front():
    error = PluginConfigError("run_config.image: is required")
    assert error.message == "airflow-k8s config: run_config.image: is required"
    assert isinstance(error, ConfigError)
    assert error.exit_code == EXIT_INPUT


@pytest.mark.parametrize(
    "text",
    [
        "run_config:\n  image: ${kedro_config:nothing}\n",  # the resolver's own error, wrapped
        "run_config:\n  image: ${missing_key}\n",
        "run_config:\n  image: [a/b:1\n",
        "- 1\n",
    ],
)
def test_each_reading_error_names_the_config_once(conf, text):
    write(conf, "base/kedro-airflow-k8s.yaml", text)
    with pytest.raises(PluginConfigError) as caught:
        read(conf)
    assert caught.value.message.startswith(f"{PLUGIN_CONFIG}: ")
    assert caught.value.message.count(PLUGIN_CONFIG) == 1


def test_a_validation_error_names_the_config_once():
    with pytest.raises(PluginConfigError) as caught:
        parse_config({"run_config": {"imag": "x"}})
    assert caught.value.message == (
        "airflow-k8s config: run_config.imag: unknown key; did you mean 'image'?"
    )


# --- end to end ---------------------------------------------------------------------------------


def test_read_and_parse(conf, monkeypatch):
    write(conf, "base/kedro-airflow-k8s.yaml", BASE)
    write(
        conf,
        "prod/kedro-airflow-k8s.yaml",
        """
        run_config:
          image: repo/image:${kedro_config:commit_id,dirty}
          start_date: 2024-03-01
          cron_expression: "0 5 * * MON-FRI"
        """,
    )
    monkeypatch.setenv("KEDRO_CONFIG_COMMIT_ID", "1234abc")
    config = parse_config(read(conf, "prod"))
    assert config.host == "https://airflow.example.com"
    assert config.output == "gs://bucket/dags"
    run = config.run_config
    assert run.image == "repo/image:1234abc"
    assert run.start_date == "20240301"
    assert run.cron_expression == "0 5 * * MON-FRI"
    assert run.namespace == "pipelines"
    assert [s.secret for s in run.secrets] == ["base-secret"]
    assert run.resources["__default__"].requests == {"cpu": "500m", "memory": "1Gi"}


@pytest.mark.parametrize(
    "value", ["2024-03-01T05:06:00", "2024-03-01 05:06:00", "2024-03-01T05:06Z"]
)
def test_a_start_date_with_a_time_of_day_from_a_file_is_refused(conf, value):
    """The loader hands a YAML timestamp over as text: a time of day is refused, not dropped."""
    write(conf, "base/kedro-airflow-k8s.yaml", BASE)
    write(conf, "prod/kedro-airflow-k8s.yaml", f"run_config:\n  start_date: {value}\n")
    with pytest.raises(PluginConfigError) as caught:
        parse_config(read(conf, "prod"))
    assert caught.value.message == (
        f"{PLUGIN_CONFIG}: run_config.start_date: {value!r} is not a date in the form YYYYMMDD"
    )


def test_read_then_parse_reports_the_key_path(conf):
    write(conf, "base/kedro-airflow-k8s.yaml", BASE)
    write(
        conf,
        "prod/kedro-airflow-k8s.yaml",
        "run_config:\n  resources:\n    gpu:\n      limts: {}\n",
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(read(conf, "prod"))
    assert caught.value.message == (
        "airflow-k8s config: run_config.resources.gpu.limts: unknown key; did you mean 'limits'?"
    )
