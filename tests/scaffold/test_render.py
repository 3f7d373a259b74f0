"""The texts ``init`` writes: valid, and every inserted value read back exactly as given."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from kedro.config import OmegaConfigLoader
from omegaconf import OmegaConf

from kedro_airflow_k8s import scaffold
from kedro_airflow_k8s.config import parse_config, read_raw_config
from kedro_airflow_k8s.config.models import PluginConfig
from tests.helpers import actionlint

pytestmark = pytest.mark.filterwarnings(
    r"ignore:register_new_resolver\(\) is deprecated:UserWarning"
)

HOSTILE_NAMES = [
    "Spaceflights",
    'My "quoted" project: v2 # not a comment',
    "it's\nimage: hacked\n  - list",
    "${oops} and \\${escaped} and \\\\${double}",
    "- starts like a list",
    "Ünïcödé 🚀 project\u2028with a line separator",
    "null",
    "1e3",
    "",
]
HOSTILE_URLS = [
    "http://127.0.0.1:8080",
    "https://airflow.example.com:8443/base/",
    "http://h/a'b\"c: #d",
    "http://h/${not.an.interpolation}",
    "http://h/x\ny: 1",
    "https://h/\\${x}/\\\\${y}",
]


def read_config(text: str, tmp_path: Path, fallbacks: dict[str, Any] | None = None) -> Any:
    """Read ``text`` as conf/base/kedro-airflow-k8s.yaml the way the plugin does (Kedro's
    loader)."""
    conf = tmp_path / "conf"
    (conf / "base").mkdir(parents=True, exist_ok=True)
    (conf / "local").mkdir(exist_ok=True)
    (conf / "base" / "kedro-airflow-k8s.yaml").write_text(text, encoding="utf-8")
    loader = OmegaConfigLoader(str(conf), base_env="base", default_run_env="local")
    raw = read_raw_config(loader, fallbacks or {})
    return raw, parse_config(raw)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_hostile_values_round_trip_through_the_plugin_loader(
    name: str, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("IMAGE_REPOSITORY", "COMMIT_ID", "BRANCH_NAME"):
        monkeypatch.delenv(f"KEDRO_CONFIG_{variable}", raising=False)
    output = f"gs://bucket/{name.splitlines()[0] if name else 'x'}"
    text = scaffold.render_config(
        host=url, output=output, project_name=name, package_name="my_package"
    )
    raw, config = read_config(text, tmp_path, {"branch_name": lambda: "feature/x"})
    assert config.host == url.rstrip("/")
    assert config.output == output
    assert raw["run_config"]["run_name"] == "my_package"
    run_config = config.run_config
    # image and namespace from the package name, whatever the project is called
    assert run_config.image == "my-package:latest"
    assert run_config.namespace == "my-package"
    shown = scaffold.one_line(name) or "my_package"
    assert run_config.description == f"{shown} (branch feature/x)"
    # The name never escapes its comment line: the only top-level keys are the plugin's.
    assert sorted(yaml.safe_load(text)) == ["host", "output", "run_config"]


def test_kedro_config_values_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEDRO_CONFIG_IMAGE_REPOSITORY", "registry.example.com/team/project")
    monkeypatch.setenv("KEDRO_CONFIG_COMMIT_ID", "0123abc")
    monkeypatch.setenv("KEDRO_CONFIG_BRANCH_NAME", "main")
    text = scaffold.render_config(
        host="http://127.0.0.1:8080", output="dag", project_name="P", package_name="p"
    )
    _, config = read_config(text, tmp_path)
    assert config.run_config.image == "registry.example.com/team/project:0123abc"
    assert config.run_config.description == "P (branch main)"
    assert config.run_config.cron_expression == "@daily"


@given(st.text(max_size=60))
def test_yaml_scalar_is_one_line_and_reads_back_exactly(value: str) -> None:
    scalar = scaffold.yaml_scalar(value)
    assert "\n" not in scalar
    assert yaml.safe_load(f"key: {scalar}\nother: 1\n") == {"key": value, "other": 1}
    assert yaml.safe_load(f"- {scalar}\n") == [value]
    omegaconf_text = scaffold.omegaconf_literal(value)
    loaded = OmegaConf.create(f"key: {scaffold.yaml_scalar(omegaconf_text)}\n")
    assert OmegaConf.to_container(loaded, resolve=True) == {"key": value}


@given(st.text(alphabet="ab\\${}:x", max_size=30))
def test_omegaconf_literal_is_never_an_interpolation(value: str) -> None:
    escaped = scaffold.omegaconf_literal(value)
    config = OmegaConf.create({"key": escaped})
    assert OmegaConf.to_container(config, resolve=True) == {"key": value}


def test_examples_are_commented_out_and_valid_once_uncommented(tmp_path: Path) -> None:
    values: dict[str, Any] = {
        "host": "http://127.0.0.1:8080",
        "output": "dag",
        "project_name": "Spaceflights",
        "package_name": "spaceflights",
    }
    plain = yaml.safe_load(scaffold.render_config(**values))
    assert sorted(plain["run_config"]) == [
        "cron_expression",
        "description",
        "experiment_name",
        "group_by",
        "image",
        "image_pull_policy",
        "namespace",
        "retries",
        "retry_delay",
        "run_name",
        "startup_time",
    ]
    assert plain["run_config"]["group_by"] == "memory"
    _, config = read_config(scaffold.render_config(**values, uncomment_examples=True), tmp_path)
    run_config = config.run_config
    assert set(run_config.resources) == {"__default__", "gpu"}
    assert run_config.volume is not None and run_config.volume.mount_path == (
        scaffold.IMAGE_WORKDIR + "/data"
    )
    assert [s.secret for s in run_config.secrets] == ["database", "api-keys", "certificates"]
    assert run_config.spark is not None and run_config.spark.type == "dataproc"
    assert run_config.authentication.type == "Vars"
    assert run_config.failure_handlers[0].type == "slack"
    assert run_config.external_dependencies[0].dag_id == "upstream.__default__.local"
    assert run_config.image_pull_secrets == ["registry-credentials"]
    assert run_config.macro_params == ["ds"]
    assert run_config.in_memory is not None
    assert run_config.in_memory.storage == "gs://my-bucket/kedro-runs"


def test_profiles_asked_for_by_tags_are_written_active(tmp_path: Path) -> None:
    text = scaffold.render_config(
        host="http://127.0.0.1:8080",
        output="dag",
        project_name="P",
        package_name="p",
        profiles=["high_memory", "true", "1", "gpu", "__default__", "gpu"],
    )
    _, config = read_config(text, tmp_path)
    assert list(config.run_config.resources) == ["__default__", "high_memory", "true", "1", "gpu"]
    assert config.run_config.resources["__default__"].requests == {"cpu": "500m", "memory": "1Gi"}
    assert config.run_config.resources["gpu"].requests == {}


def test_pod_templates_asked_for_by_tags_are_written_valid(tmp_path: Path) -> None:
    text = scaffold.render_config(
        host="http://127.0.0.1:8080",
        output="dag",
        project_name="P",
        package_name="p",
        pod_templates=["spot", "__default__", "gpu.big"],
    )
    _, config = read_config(text, tmp_path)
    templates = config.run_config.kubernetes_pod_templates
    assert list(templates) == ["spot", "gpu.big"]
    assert yaml.safe_load(templates["spot"].template) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {"containers": [{"name": "base"}]},
    }


@pytest.mark.parametrize(
    ("namespaces", "comment"),
    [
        (None, "  # per top-level Kedro namespace.\n"),
        ((), "  # per top-level Kedro namespace (this project has none).\n"),
        (("model", "data"), "  # per top-level Kedro namespace (here: data, model).\n"),
    ],
)
def test_the_group_by_comment_names_the_projects_namespaces(
    namespaces: tuple[str, ...] | None, comment: str
) -> None:
    text = scaffold.render_config(
        host="http://127.0.0.1:8080",
        output="dag",
        project_name="P",
        package_name="p",
        namespaces=namespaces,
    )
    assert comment + "  # chain: a task and the next share a pod" in text
    assert "Strategies combine in a list: [memory, chain].\n  group_by: memory\n" in text


@pytest.mark.parametrize(
    ("package", "slug", "run_name"),
    [
        ("spaceflights", "spaceflights", "spaceflights"),
        ("my_great_project", "my-great-project", "my_great_project"),
        ("café_ünïcode", "cafe-unicode", "cafe_unicode"),
        ("Mixed.Case_9", "mixed-case-9", "Mixed.Case_9"),
        ("日本", "kedro-project", "kedro_project"),
        ("_private_", "private", "private"),
        ("x" * 100, "x" * 63, "x" * 100),
    ],
)
def test_run_name_image_and_namespace_all_come_from_the_package_name(
    package: str, slug: str, run_name: str
) -> None:
    names = scaffold.names_from_package(package)
    assert (names.slug, names.run_name) == (slug, run_name)
    text = scaffold.render_config(
        host="http://127.0.0.1:8080",
        output="dag",
        project_name="Another Name 🚀",
        package_name=package,
    )
    data = yaml.safe_load(text)
    assert data["run_config"]["image"].startswith(f"${{kedro_config:image_repository,'{slug}'}}:")
    data["run_config"]["image"] = f"{slug}:latest"  # as the plugin resolves it
    config = PluginConfig.model_validate(data)
    assert config.run_config.namespace == slug
    assert config.run_config.run_name == run_name


def test_the_kedro_config_values_of_the_config_are_exported_by_the_workflows() -> None:
    text = scaffold.render_config(
        host="http://127.0.0.1:8080", output="dag", project_name="P", package_name="p"
    )
    used = set(re.findall(r"\$\{kedro_config:([a-z_]+)", text))
    assert used == set(scaffold.CONFIG_VARIABLES)
    for workflow in _workflows().values():
        env = yaml.load(workflow, Loader=yaml.BaseLoader)["env"]
        for name in used:
            assert f"KEDRO_CONFIG_{name.upper()}" in env


def _workflows(**overrides: Any) -> dict[str, str]:
    values: dict[str, Any] = {
        "project_name": "Spaceflights",
        "run_name": "spaceflights",
        "output": "gs://bucket/dags",
        "requirement": scaffold.plugin_requirement("1.2.3", "gs://bucket/dags"),
    }
    return scaffold.render_workflows(**{**values, **overrides})


def _steps(text: str) -> list[dict[str, Any]]:
    document = yaml.load(text, Loader=yaml.BaseLoader)  # "on" stays a string key
    (job,) = document["jobs"].values()
    return list(job["steps"])


def test_run_once_on_branches_and_schedule_on_main() -> None:
    workflows = _workflows(main_branch="trunk")
    push = yaml.load(workflows[scaffold.RUN_ONCE_WORKFLOW], Loader=yaml.BaseLoader)
    merge = yaml.load(workflows[scaffold.SCHEDULE_WORKFLOW], Loader=yaml.BaseLoader)
    assert push["on"]["push"] == {"branches-ignore": ["trunk"]}
    assert merge["on"]["push"] == {"branches": ["trunk"]}
    for document in (push, merge):
        assert document["env"]["KEDRO_CONFIG_COMMIT_ID"] == "${{ github.sha }}"
        assert document["env"]["IMAGE_REPOSITORY"] == "${{ secrets.IMAGE_REPOSITORY }}"
        assert document["env"]["PLUGIN_REQUIREMENT"] == "kedro-airflow-k8s[gcp]>=1.2.3,<2"
    push_script = "\n".join(s.get("run", "") for s in _steps(workflows[scaffold.RUN_ONCE_WORKFLOW]))
    merge_script = "\n".join(
        s.get("run", "") for s in _steps(workflows[scaffold.SCHEDULE_WORKFLOW])
    )
    for script in (push_script, merge_script):
        assert 'docker build --tag "$IMAGE_REPOSITORY:$GITHUB_SHA"' in script
        assert 'docker push "$IMAGE_REPOSITORY:$GITHUB_SHA"' in script
        assert "--password-stdin" in script
        assert 'pip install -r requirements.txt "$PLUGIN_REQUIREMENT"' in script
    assert "kedro airflow-k8s run-once" in push_script
    assert '--wait-for-completion "$WAIT_MINUTES"' in push_script
    assert push_script.index("docker push") < push_script.index("run-once")
    assert "kedro airflow-k8s schedule" in merge_script
    assert "run-once" not in merge_script
    run_step = _steps(workflows[scaffold.RUN_ONCE_WORKFLOW])[-1]
    assert run_step["env"]["AIRFLOW_API_TOKEN"] == "${{ secrets.AIRFLOW_API_TOKEN }}"
    assert run_step["env"]["AIRFLOW_PASSWORD"] == "${{ secrets.AIRFLOW_PASSWORD }}"
    uses = [s.get("uses", "") for s in _steps(workflows[scaffold.SCHEDULE_WORKFLOW])]
    assert "google-github-actions/auth@v2" in uses


def test_hostile_values_stay_data_in_the_workflows() -> None:
    workflows = _workflows(
        project_name="evil\non: [pull_request]\n# ${{ secrets.X }}",
        main_branch="we'ird: #branch",
        working_directory="sub dir/it's: here",
        has_requirements=False,
    )
    push = yaml.load(workflows[scaffold.RUN_ONCE_WORKFLOW], Loader=yaml.BaseLoader)
    assert push["on"]["push"] == {"branches-ignore": ["we'ird: #branch"]}
    (job,) = push["jobs"].values()
    assert job["defaults"]["run"]["working-directory"] == "sub dir/it's: here"
    assert 'pip install . "$PLUGIN_REQUIREMENT"' in "\n".join(
        s.get("run", "") for s in job["steps"]
    )
    with pytest.raises(ValueError, match="GitHub Actions would evaluate"):
        _workflows(working_directory="${{ secrets.TOKEN }}")


def test_workflows_pass_actionlint(tmp_path: Path) -> None:
    files = []
    for index, (output, folder) in enumerate(
        [("gs://bucket/dags", "."), ("s3://bucket/dags", "project"), ("dag", ".")]
    ):
        rendered = _workflows(
            output=output,
            requirement=scaffold.plugin_requirement("1.0.0", output),
            working_directory=folder,
        )
        for name, text in rendered.items():
            path = tmp_path / str(index) / ".github" / "workflows" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            files.append(path)
    done = actionlint(*files)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_a_broken_workflow_fails_actionlint(tmp_path: Path) -> None:
    """The lint of the test above can fail: an unknown context in a workflow is reported."""
    text = _workflows()[scaffold.RUN_ONCE_WORKFLOW].replace("github.sha", "githubb.sha", 1)
    path = tmp_path / "broken.yml"
    path.write_text(text)
    done = actionlint(path)
    assert done.returncode != 0
    assert "githubb" in done.stdout


def test_plugin_requirement_brings_the_extra_of_the_output() -> None:
    assert scaffold.plugin_requirement("1.0.0", "dag") == "kedro-airflow-k8s>=1.0.0,<2"
    assert scaffold.plugin_requirement("1.4.0.dev0", "S3://b/p") == (
        "kedro-airflow-k8s[aws]>=1.4.0.dev0,<2"
    )
    assert scaffold.plugin_requirement("2.0.1", "gcs://b") == "kedro-airflow-k8s[gcp]>=2.0.1,<3"


_INSTRUCTIONS = {"FROM", "ENV", "RUN", "WORKDIR", "COPY", "USER", "CMD"}


def _instructions(dockerfile: str) -> list[str]:
    """The Dockerfile's instruction lines (continuations joined)."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    return [line for line in joined.splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("has_requirements", [True, False])
def test_dockerfile_installs_the_requirements_and_the_project(has_requirements: bool) -> None:
    text = scaffold.render_dockerfile(
        project_name="evil\nRUN rm -rf /\n",
        plugin_requirement="kedro-airflow-k8s>=1.2.0,<2",
        has_requirements=has_requirements,
    )
    lines = _instructions(text)
    assert {line.split()[0] for line in lines} <= _INSTRUCTIONS
    assert lines[0] == "FROM python:3.11-slim"
    assert f"WORKDIR {scaffold.IMAGE_WORKDIR}" in lines
    assert not any("rm -rf" in line for line in lines)
    assert not any(line.startswith("ENTRYPOINT") for line in lines)
    install = next(line for line in lines if "pip install ." in line)
    assert "mkdir -p conf/local" in install
    requirements = [line for line in lines if "requirements.txt" in line]
    if has_requirements:
        assert requirements == [
            "COPY requirements.txt ./",
            "RUN pip install -r requirements.txt",
        ]
        assert lines.index(requirements[1]) < lines.index(install)
    else:
        assert requirements == []
    plugin = "RUN pip install 'kedro-airflow-k8s>=1.2.0,<2'"  # its hook runs in the pods
    assert plugin in lines and lines.index(plugin) < lines.index(install)
    assert lines[-1] == 'CMD ["kedro", "run"]'
    with pytest.raises(ValueError, match=r"MAJOR\.MINOR"):
        scaffold.render_dockerfile(
            project_name="p", plugin_requirement="kedro-airflow-k8s", python_version="3.11\nRUN x"
        )
    with pytest.raises(ValueError, match="not a pip requirement"):
        scaffold.render_dockerfile(project_name="p", plugin_requirement="x; rm -rf /")


def test_dockerignore_keeps_local_config_and_git_out() -> None:
    lines = scaffold.render_dockerignore().splitlines()
    for pattern in (
        ".git",
        ".venv",
        "conf/local/**",
        "!conf/local/.gitkeep",
        "**/__pycache__",
        ".airflow",  # `dev`'s database, logs and password
    ):
        assert pattern in lines
    assert "data" not in lines and "conf" not in lines  # the project's data and conf go in
