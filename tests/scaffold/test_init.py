"""``kedro airflow-k8s init``: the files it writes, when it refuses, and the real ``kedro`` CLI
compiling the config it wrote."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from click.testing import CliRunner

from kedro_airflow_k8s import scaffold
from kedro_airflow_k8s.cli import commands
from kedro_airflow_k8s.errors import EXIT_INPUT, EXIT_USAGE, PluginError
from kedro_airflow_k8s.scaffold import writer
from tests.helpers import REPO, actionlint, copy_example, kedro

WORKFLOWS = (scaffold.RUN_ONCE_WORKFLOW, scaffold.SCHEDULE_WORKFLOW)


def make_project(root: Path, *, requirements: bool = True) -> Path:
    """A small Kedro-like project: metadata, a package with tagged nodes, conf/base."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "demo"

            [tool.kedro]
            package_name = "demo_pkg"
            project_name = "Demo: the \\"best\\" one"
            kedro_init_version = "1.7.0"
            """
        )
    )
    package = root / "src" / "demo_pkg" / "pipelines"
    package.mkdir(parents=True)
    (package / "pipeline.py").write_text(
        'TAGS = ["resources.big_memory", \'machine.gpu\', "airflow.group", "resources."]\n'
        'TEMPLATE = "k8s_template.spot"\n'
        "# resources.not_a_literal\n"
    )
    (root / "conf" / "base").mkdir(parents=True)
    if requirements:
        (root / "requirements.txt").write_text("kedro~=1.7.0\n")
    return root


def git(path: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)


def test_init_writes_the_config_for_the_project(tmp_path: Path) -> None:
    project = make_project(tmp_path / "demo")
    result = writer.init_project(project, "https://airflow.example.com/", output="gs://b/dags")
    config_path = project / "conf" / "base" / "kedro-airflow-k8s.yaml"
    assert result.written == [config_path]
    data = yaml.safe_load(config_path.read_text())
    assert data["host"] == "https://airflow.example.com"
    assert data["output"] == "gs://b/dags"
    run_config = data["run_config"]
    # run name, image and namespace: all from the package name
    assert run_config["run_name"] == "demo_pkg"
    assert run_config["namespace"] == "demo-pkg"
    assert run_config["image"] == (
        "${kedro_config:image_repository,'demo-pkg'}:${kedro_config:commit_id,latest}"
    )
    assert run_config["group_by"] == "memory"
    # The project has no pipeline registry, so Kedro cannot load it: the profiles and templates
    # the tags ask for come from string literals in its source, and a note says so.
    assert list(run_config["resources"]) == ["__default__", "big_memory", "gpu"]
    assert list(run_config["kubernetes_pod_templates"]) == ["spot"]
    [note] = result.notes
    assert note.startswith(
        "Could not load the project's pipelines through Kedro (ModuleNotFoundError: No module "
        "named 'demo_pkg.pipeline_registry'); the resource profiles and pod templates were "
        "taken from tag strings in its source"
    )
    assert not (project / "Dockerfile").exists()
    assert not (project / ".github").exists()


def test_with_github_actions_writes_workflows_dockerfile_and_dockerignore(tmp_path: Path) -> None:
    project = make_project(tmp_path / "demo", requirements=False)
    git(project, "init", "-q", "-b", "master")
    git(
        project,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    result = writer.init_project(
        project, "http://127.0.0.1:8080", output="s3://bucket/dags", with_github_actions=True
    )
    workflows = [project / ".github" / "workflows" / name for name in WORKFLOWS]
    assert result.written == [
        project / "Dockerfile",
        project / ".dockerignore",
        *workflows,
        project / "conf" / "base" / "kedro-airflow-k8s.yaml",
    ]
    merge = yaml.load(workflows[1].read_text(), Loader=yaml.BaseLoader)
    assert merge["on"]["push"] == {"branches": ["master"]}  # the repository's main branch
    assert merge["env"]["PLUGIN_REQUIREMENT"].startswith("kedro-airflow-k8s[aws]>=")
    assert "defaults" not in merge["jobs"]["schedule"]
    assert "requirements.txt" not in (project / "Dockerfile").read_text()  # none in the project
    assert any("AWS_ACCESS_KEY_ID" in note for note in result.notes)


def test_a_project_in_a_subfolder_gets_the_workflows_at_the_repository_top(
    tmp_path: Path,
) -> None:
    repository = tmp_path / "repo"
    project = make_project(repository / "projects" / "demo")
    git(repository, "init", "-q", "-b", "main")
    result = writer.init_project(project, "http://127.0.0.1:8080", with_github_actions=True)
    push = repository / ".github" / "workflows" / scaffold.RUN_ONCE_WORKFLOW
    assert push in result.written
    document = yaml.load(push.read_text(), Loader=yaml.BaseLoader)
    assert document["jobs"]["run-once"]["defaults"]["run"]["working-directory"] == "projects/demo"
    assert (project / "Dockerfile").exists()
    assert any(str(repository) in note for note in result.notes)
    done = actionlint(push)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_existing_dockerfile_is_kept_even_with_force(tmp_path: Path) -> None:
    project = make_project(tmp_path / "demo")
    dockerfile = project / "Dockerfile"
    dockerfile.write_text("FROM my-own-base\n")
    result = writer.init_project(project, "http://127.0.0.1:8080", with_github_actions=True)
    assert dockerfile.read_text() == "FROM my-own-base\n"
    assert result.kept == [dockerfile]
    assert dockerfile not in result.written
    assert result.notes[0] == "Kept the existing Dockerfile (--overwrite-dockerfile replaces it)."
    forced = writer.init_project(
        project, "http://127.0.0.1:8080", with_github_actions=True, force=True
    )
    assert dockerfile.read_text() == "FROM my-own-base\n"  # --force: the plugin's files only
    assert forced.kept == [dockerfile, project / ".dockerignore"]
    assert project / "conf" / "base" / "kedro-airflow-k8s.yaml" in forced.written
    replaced = writer.init_project(
        project,
        "http://127.0.0.1:8080",
        with_github_actions=True,
        overwrite_dockerfile=True,
        force=True,
    )
    assert dockerfile in replaced.written and project / ".dockerignore" in replaced.written
    text = dockerfile.read_text()
    assert "RUN pip install -r requirements.txt" in text
    assert "RUN pip install 'kedro-airflow-k8s>=" in text
    assert "RUN pip install . \\\n" in text


def test_a_workflow_init_did_not_write_is_never_replaced(tmp_path: Path) -> None:
    project = make_project(tmp_path / "demo")
    git(project, "init", "-q", "-b", "main")
    theirs = project / ".github" / "workflows" / scaffold.RUN_ONCE_WORKFLOW
    theirs.parent.mkdir(parents=True)
    theirs.write_text("name: our own pipeline\n")
    result = writer.init_project(project, "http://127.0.0.1:8080", with_github_actions=True)
    assert theirs.read_text() == "name: our own pipeline\n"
    assert result.kept == [theirs]
    assert (
        f"Kept .github/workflows/{scaffold.RUN_ONCE_WORKFLOW}: init did not write it (delete it "
        "to have init write its own)."
    ) in result.notes
    ours = theirs.parent / scaffold.SCHEDULE_WORKFLOW
    assert ours in result.written
    ours.write_text(ours.read_text() + "# edited\n")  # still the plugin's own: --force rewrites
    forced = writer.init_project(
        project,
        "http://127.0.0.1:8080",
        with_github_actions=True,
        force=True,
        overwrite_dockerfile=True,
    )
    assert ours in forced.written and not ours.read_text().endswith("# edited\n")
    assert theirs in forced.kept and theirs.read_text() == "name: our own pipeline\n"


def test_overwrite_dockerfile_needs_the_dockerfile(tmp_path: Path) -> None:
    project = make_project(tmp_path / "demo")
    done = CliRunner().invoke(
        commands,
        ["airflow-k8s", "init", "http://127.0.0.1:8080", "--overwrite-dockerfile"],
        obj=SimpleNamespace(project_path=project),
    )
    assert done.exit_code == 2
    assert done.output.splitlines() == [
        "Error: --overwrite-dockerfile: init writes a Dockerfile only with --with-github-actions"
    ]
    assert not (project / "conf" / "base" / "kedro-airflow-k8s.yaml").exists()


def test_existing_files_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    project = make_project(tmp_path / "demo")
    config = project / "conf" / "base" / "kedro-airflow-k8s.yml"  # the other spelling counts too
    config.write_text("host: http://mine\n")
    with pytest.raises(PluginError) as raised:
        writer.init_project(project, "http://127.0.0.1:8080", with_github_actions=True)
    assert raised.value.message == (
        "conf/base/kedro-airflow-k8s.yml already exists: pass --force to overwrite it"
    )
    assert config.read_text() == "host: http://mine\n"
    assert not (project / ".github").exists() and not (project / "Dockerfile").exists()
    result = writer.init_project(project, "http://127.0.0.1:8080", force=True)
    assert result.written == [config]  # the existing file is replaced, no second one appears
    assert not (project / "conf" / "base" / "kedro-airflow-k8s.yaml").exists()


def test_a_config_of_the_old_name_is_replaced_by_the_new_one_with_force(tmp_path: Path) -> None:
    project = make_project(tmp_path / "demo")
    old = project / "conf" / "base" / "airflow-k8s.yaml"
    old.write_text("host: http://mine\n")
    with pytest.raises(PluginError) as raised:
        writer.init_project(project, "http://127.0.0.1:8080")
    assert raised.value.message == (
        "conf/base/airflow-k8s.yaml already exists: pass --force to overwrite it"
    )
    assert old.read_text() == "host: http://mine\n"
    result = writer.init_project(project, "http://127.0.0.1:8080", force=True)
    new = project / "conf" / "base" / "kedro-airflow-k8s.yaml"
    assert result.written == [new] and not old.exists()
    assert (
        "Replaced conf/base/airflow-k8s.yaml by conf/base/kedro-airflow-k8s.yaml: "
        "kedro-airflow's airflow* config pattern reads the old name too."
    ) in result.notes


@pytest.mark.parametrize(
    ("url", "output", "message", "code"),
    [
        (
            "ftp://host",
            "dag",
            "AIRFLOW_URL 'ftp://host': it must start with http:// or https://",
            EXIT_USAGE,
        ),
        (
            "localhost:8080",
            "dag",
            "AIRFLOW_URL 'localhost:8080': it must start with http:// or https://",
            EXIT_USAGE,
        ),
        (
            "http://me:secret@host",
            "dag",
            "AIRFLOW_URL must not hold credentials: set AIRFLOW_API_TOKEN, or AIRFLOW_USERNAME "
            "and AIRFLOW_PASSWORD, where the plugin runs",
            EXIT_USAGE,
        ),
        (
            "http://host/a b",
            "dag",
            "AIRFLOW_URL 'http://host/a b': it must not hold spaces or control characters",
            EXIT_USAGE,
        ),
        (
            "http://host",
            "ftp://bucket",
            "unsupported destination scheme 'ftp://' in 'ftp://bucket': use a local folder, "
            "file://, s3://, gs:// or gcs://",
            EXIT_INPUT,  # the same rule as the config's output key
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, url: str, output: str, message: str, code: int
) -> None:
    project = make_project(tmp_path / "demo")
    runner = CliRunner()
    done = runner.invoke(
        commands,
        ["airflow-k8s", "init", url, "-o", output, "--with-github-actions"],
        obj=SimpleNamespace(project_path=project),
    )
    assert done.exit_code == code
    assert done.output.splitlines() == [f"Error: {message}"]
    assert sorted(p.name for p in project.iterdir()) == [
        "conf",
        "pyproject.toml",
        "requirements.txt",
        "src",
    ]


def test_a_folder_without_kedro_metadata_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"no pyproject\.toml in"):
        writer.init_project(tmp_path, "http://127.0.0.1:8080")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    with pytest.raises(PluginError, match=r"no \[tool.kedro\] section"):
        writer.init_project(tmp_path, "http://127.0.0.1:8080")
    (tmp_path / "pyproject.toml").write_text("[tool.kedro]\nproject_name = 'x'\n")
    with pytest.raises(PluginError, match=r"\[tool.kedro\] package_name must be a non-empty"):
        writer.init_project(tmp_path, "http://127.0.0.1:8080")


# --- the real ``kedro`` CLI in a copy of the bundled example -----------------------------------


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    project = copy_example(tmp_path_factory.mktemp("init"))
    (project / "conf" / "base" / "kedro-airflow-k8s.yaml").unlink()
    done = kedro(project, "airflow-k8s", "init", "http://127.0.0.1:8080", "--with-github-actions")
    assert done.returncode == 0, done.stderr[-2000:]
    return project, done.stdout


def _written(project: Path) -> list[Path]:
    return [
        project / "Dockerfile",
        project / ".dockerignore",
        *(project / ".github" / "workflows" / name for name in WORKFLOWS),
        project / "conf" / "base" / "kedro-airflow-k8s.yaml",
    ]


def test_kedro_init_then_compile(initialised: tuple[Path, str], tmp_path: Path) -> None:
    project, stdout = initialised
    assert stdout.splitlines()[-5:] == [str(p) for p in _written(project)]
    config = yaml.safe_load((project / "conf" / "base" / "kedro-airflow-k8s.yaml").read_text())
    assert config["host"] == "http://127.0.0.1:8080"
    assert config["output"] == "dag"
    assert config["run_config"]["run_name"] == "spaceflights"
    assert set(config["run_config"]["resources"]) == {"__default__", "gpu", "high_memory"}

    done = kedro(project, "airflow-k8s", "compile", "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    dag = tmp_path / "spaceflights___default___local.py"
    assert done.stdout.splitlines()[-1] == str(dag)
    text = dag.read_text()
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert f"'image': 'spaceflights:{commit}'" in text
    assert "'namespace': 'spaceflights'" in text

    lint = actionlint(*(project / ".github" / "workflows" / name for name in WORKFLOWS))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    dockerfile = (project / "Dockerfile").read_text()
    assert "COPY requirements.txt ./\nRUN pip install -r requirements.txt\n" in dockerfile
    assert "RUN pip install . \\\n" in dockerfile
    assert f"WORKDIR {scaffold.IMAGE_WORKDIR}\n" in dockerfile


def test_kedro_init_again_needs_force(initialised: tuple[Path, str]) -> None:
    project, _ = initialised
    config = project / "conf" / "base" / "kedro-airflow-k8s.yaml"
    generated = config.read_text()
    config.write_text(generated + "# edited by hand\n")
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "# edited by hand\n")

    refused = kedro(project, "airflow-k8s", "init", "http://127.0.0.1:8080")
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "Traceback" not in out
    assert [line for line in out.splitlines() if line.startswith("Error: ")] == [
        "Error: conf/base/kedro-airflow-k8s.yaml already exists: pass --force to overwrite it"
    ]
    assert config.read_text() == generated + "# edited by hand\n"

    forced = kedro(project, "airflow-k8s", "init", "http://127.0.0.1:8080", "--force")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert forced.stdout.splitlines()[-1] == str(config)
    assert config.read_text() == generated
    assert dockerfile.read_text().endswith("# edited by hand\n")  # not asked for: untouched


def test_kedro_init_reads_the_tags_through_kedro(initialised: tuple[Path, str]) -> None:
    project, _ = initialised
    text = (project / "conf" / "base" / "kedro-airflow-k8s.yaml").read_text()
    assert (
        "  # per top-level Kedro namespace (here: active_modelling_pipeline, "
        "candidate_modelling_pipeline).\n  # chain:"
    ) in text


TAGS_IN_CODE = '''
def profile_tag(size):
    """Resource profile tags made by a helper, as larger projects do."""
    return "resources." + f"{size}_memory"


TEMPLATE_PREFIX = "k8s_template."
PREPROCESSING = ["airflow.preprocessing", TEMPLATE_PREFIX + "spot"]
'''


def test_init_finds_tags_built_in_code_and_compile_succeeds(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    (project / "conf" / "base" / "kedro-airflow-k8s.yaml").unlink()
    pipeline = project / "src" / "spaceflights" / "pipelines" / "data_processing" / "pipeline.py"
    text = pipeline.read_text()
    text = text.replace('tags=["airflow.preprocessing"]', "tags=PREPROCESSING")
    text = text.replace('tags=["resources.high_memory"]', 'tags=[profile_tag("huge")]')
    pipeline.write_text(
        text.replace("\n\ndef create_pipeline", TAGS_IN_CODE + "\n\ndef create_pipeline")
    )
    assert "resources.huge_memory" not in text and "k8s_template.spot" not in text

    done = kedro(project, "airflow-k8s", "init", "http://127.0.0.1:8080")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Could not load" not in done.stderr
    config = yaml.safe_load((project / "conf" / "base" / "kedro-airflow-k8s.yaml").read_text())
    assert set(config["run_config"]["resources"]) == {"__default__", "gpu", "huge_memory"}
    assert list(config["run_config"]["kubernetes_pod_templates"]) == ["spot"]

    quiet = {"KEDRO_LOGGING_CONFIG": str(REPO / "scripts" / "quiet-logging.yml")}
    compiled = kedro(project, "airflow-k8s", "compile", "--explain", "json", env=quiet)
    assert compiled.returncode == 0, compiled.stderr[-2000:]
    tasks = {t["task_id"]: t for t in json.loads(compiled.stdout)["tasks"]}
    assert tasks["create_model_input_table_node"]["resource_profile"] == "huge_memory"
    assert tasks["preprocessing"]["pod_template"] == "spot"
