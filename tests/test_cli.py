"""The ``kedro airflow-k8s`` commands as a user runs them: the real ``kedro`` executable in a
copy of the bundled example project."""

from __future__ import annotations

import ast
import json
import socket
from pathlib import Path

import pytest

from kedro_airflow_k8s.errors import EXIT_INPUT, EXIT_REMOTE, EXIT_USAGE
from tests.helpers import copy_example, kedro


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("cli"))


def _config(project: Path) -> Path:
    return project / "conf" / "base" / "kedro-airflow-k8s.yaml"


def _assert_clean_error(done: object, message: str, exit_code: int = EXIT_INPUT) -> None:
    out = done.stdout + done.stderr  # type: ignore[attr-defined]
    assert done.returncode == exit_code, out[-2000:]  # type: ignore[attr-defined]
    assert "Traceback" not in out
    error_lines = [line for line in out.splitlines() if line.startswith("Error: ")]
    assert error_lines == [f"Error: {message}"], out[-2000:]


def test_group_help_lists_options_and_commands(project: Path) -> None:
    done = kedro(project, "airflow-k8s", "--help")
    assert done.returncode == 0, done.stderr
    for text in ("-e, --env", "-p, --pipeline", "compile"):
        assert text in done.stdout


def test_compile_writes_one_file_per_pipeline_and_prints_paths(
    project: Path, tmp_path: Path
) -> None:
    done = kedro(
        project,
        "airflow-k8s",
        "--pipelines",  # Kedro's spelling; -p and --pipeline work too
        "data_processing,data_science",
        "compile",
        "-o",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    printed = [line for line in done.stdout.splitlines() if line.startswith(str(tmp_path))]
    assert printed == [
        str(tmp_path / "spaceflights_data_processing_local.py"),
        str(tmp_path / "spaceflights_data_science_local.py"),
    ]
    for path in printed:
        ast.parse(Path(path).read_text())
    assert "DAG spaceflights.data_processing.local\n" in done.stderr
    assert "pipeline 'data_processing': 2 tasks (0 spark) from 3 nodes" in done.stderr


def test_compile_defaults_to_the_project_dag_folder_and_the_local_env(project: Path) -> None:
    done = kedro(project, "airflow-k8s", "compile", "--image", "other:2")
    assert done.returncode == 0, done.stderr[-2000:]
    written = project / "dag" / "spaceflights___default___local.py"
    assert done.stdout.strip().splitlines()[-1] == str(written)
    assert "'image': 'other:2'" in written.read_text()


def test_kedro_env_chooses_the_environment_and_env_option_wins(
    project: Path, tmp_path: Path
) -> None:
    for env, image in (("staging", "staging-image:3"), ("qa", "qa-image:4")):
        (project / "conf" / env).mkdir(exist_ok=True)
        (project / "conf" / env / "kedro-airflow-k8s.yaml").write_text(
            f"run_config:\n  image: {image}\n"
        )
    from_variable = kedro(
        project, "airflow-k8s", "compile", "-o", str(tmp_path), env={"KEDRO_ENV": "staging"}
    )
    assert from_variable.returncode == 0, from_variable.stderr[-2000:]
    staged = tmp_path / "spaceflights___default___staging.py"
    assert from_variable.stdout.strip().splitlines()[-1] == str(staged)
    assert "'image': 'staging-image:3'" in staged.read_text()
    from_option = kedro(
        project,
        "airflow-k8s",
        "-e",
        "qa",
        "compile",
        "-o",
        str(tmp_path),
        env={"KEDRO_ENV": "staging"},
    )
    assert from_option.returncode == 0, from_option.stderr[-2000:]
    assert "'image': 'qa-image:4'" in (tmp_path / "spaceflights___default___qa.py").read_text()


def test_env_overlays_base_key_by_key(project: Path, tmp_path: Path) -> None:
    prod = project / "conf" / "prod"
    prod.mkdir(exist_ok=True)
    (prod / "kedro-airflow-k8s.yaml").write_text("run_config:\n  image: prod-image:7\n")
    done = kedro(project, "airflow-k8s", "-e", "prod", "compile", "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    text = (tmp_path / "spaceflights___default___prod.py").read_text()
    assert "'image': 'prod-image:7'" in text
    assert "'namespace': 'kedro'" in text  # kept from base
    assert "'nvidia.com/gpu': '1'" in text  # nested resources kept from base


def test_kedro_config_values_come_from_the_environment(project: Path, tmp_path: Path) -> None:
    done = kedro(
        project,
        "airflow-k8s",
        "compile",
        "-o",
        str(tmp_path),
        env={"KEDRO_CONFIG_COMMIT_ID": "feedbeef"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (
        "'image': 'spaceflights:feedbeef'"
        in (tmp_path / "spaceflights___default___local.py").read_text()
    )


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "run_config:\n  image: x\n  namespce: a\n",
            "airflow-k8s config: run_config.namespce: unknown key; did you mean 'namespace'?",
        ),
        (
            "run_config:\n  image: x\n  startup_time: soon\n",
            "airflow-k8s config: run_config.startup_time: input should be a valid integer "
            "(got 'soon')",
        ),
        (
            "run_config:\n  image: x\n  resources:\n    gpu:\n      limits: {cpu: lots}\n",
            "airflow-k8s config: run_config.resources.gpu.limits: 'lots' is not a Kubernetes "
            "quantity (examples: 500m, 2, 1.5, 512Mi, 4Gi)",
        ),
        (
            "run_config:\n  image: x:${commit_id|dirty}\n",
            "airflow-k8s config: run_config.image: ${commit_id|dirty} is the old syntax; write "
            "${kedro_config:commit_id,dirty} (reads KEDRO_CONFIG_COMMIT_ID)",
        ),
        (
            "run_config:\n  image: x:${kedro_config:google_project_id}\n",
            "airflow-k8s config: run_config.image: ${kedro_config:google_project_id} needs the "
            "environment variable "
            "KEDRO_CONFIG_GOOGLE_PROJECT_ID; set it or give a default after a comma, e.g. "
            "${kedro_config:google_project_id,default-value}",
        ),
        (
            "run_config:\n  resources: {__default__: {}, high_memory: {}, gpu: {}}\n",
            "airflow-k8s config: run_config.image: no image to run the nodes in; set it or pass "
            "--image",
        ),
    ],
    ids=["typo", "type", "quantity", "legacy-syntax", "unset-variable", "no-image"],
)
def test_bad_config_is_one_clean_line_and_keeps_earlier_output(
    project: Path, tmp_path: Path, yaml_text: str, message: str
) -> None:
    config = _config(project)
    original = config.read_text()
    out_dir = tmp_path / "dags"
    out_dir.mkdir()
    earlier = out_dir / "spaceflights___default___local.py"
    earlier.write_text("# an earlier DAG\n")
    config.write_text(yaml_text)
    try:
        done = kedro(project, "airflow-k8s", "compile", "-o", str(out_dir))
    finally:
        config.write_text(original)
    _assert_clean_error(done, message)
    assert earlier.read_text() == "# an earlier DAG\n"
    assert sorted(p.name for p in out_dir.iterdir()) == [earlier.name]


def test_unknown_pipeline_is_a_clean_error(project: Path) -> None:
    done = kedro(project, "airflow-k8s", "-p", "nope", "compile")
    _assert_clean_error(
        done,
        "pipeline 'nope' is not registered (known: __default__, data_processing, data_science)",
    )


def test_an_environment_that_does_not_exist_is_named_as_such(project: Path) -> None:
    # Other tests of the module may add environments to the shared project.
    known = sorted(p.name for p in (project / "conf").iterdir() if p.is_dir())
    assert {"base", "local"} <= set(known)
    done = kedro(project, "airflow-k8s", "-e", "nope", "compile")
    _assert_clean_error(
        done,
        f"environment 'nope' does not exist: there is no folder {project / 'conf' / 'nope'} "
        f"(environments: {', '.join(known)}; -e/--env or KEDRO_ENV picks one)",
    )


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        (
            "host: null\n",
            "airflow-k8s config: host: is not set; add the Airflow URL (http:// or https://) to "
            "kedro-airflow-k8s.yaml",
        ),
        (
            'host: ""\n',
            "airflow-k8s config: host: is empty; write the Airflow URL (http:// or https://) here "
            "in kedro-airflow-k8s.yaml, or remove the key",
        ),
    ],
    ids=["unset", "empty"],
)
def test_a_missing_airflow_host_says_where_to_set_it(
    project: Path, overlay: str, message: str
) -> None:
    env = project / "conf" / ("host-unset" if "null" in overlay else "host-empty")
    env.mkdir()
    (env / "kedro-airflow-k8s.yaml").write_text(overlay)
    done = kedro(project, "airflow-k8s", "-e", env.name, "list-pipelines")
    _assert_clean_error(done, message)


def test_dev_on_a_busy_default_port_says_it_is_the_default(project: Path) -> None:
    # dev takes its port from the config's loopback host (the example reads it from
    # KEDRO_CONFIG_AIRFLOW_HOST); the user passed no --port, so the message does not blame it.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        host = f"http://localhost:{port}"
        done = kedro(project, "airflow-k8s", "dev", env={"KEDRO_CONFIG_AIRFLOW_HOST": host})
    _assert_clean_error(
        done,
        f"127.0.0.1:{port} cannot be used (Address already in use): it is the port of host in "
        f"kedro-airflow-k8s.yaml ({host}), dev's default; stop what uses it or choose another "
        "port with --port PORT",
        EXIT_USAGE,
    )
    assert not (project / ".airflow").exists()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            ["--param", "learning-rate=0.1"],
            "--param: 'learning-rate' cannot be a Kedro parameter name: use letters, digits and "
            "'_' (not first), with '.' between nested names",
        ),
        (
            ["--param", "model=small", "--param", "model.depth=3"],
            "--param: 'model' and 'model.depth' cannot both be parameters: 'model.depth' is "
            "inside 'model', and Kedro would keep only one of them",
        ),
    ],
    ids=["name", "nested"],
)
def test_run_once_refuses_params_kedro_would_refuse_before_anything_is_shipped(
    project: Path, tmp_path: Path, params: list[str], message: str
) -> None:
    # The config's Airflow (localhost:8080) is not running: reaching it first would fail with
    # exit code 5; the parameters are refused before that, and before any upload.
    done = kedro(project, "airflow-k8s", "run-once", "-o", str(tmp_path), *params)
    _assert_clean_error(done, message, EXIT_USAGE)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("relative", "text", "message"),
    [
        (
            "src/spaceflights/pipeline_registry.py",
            "def register_pipelines():\n    raise RuntimeError('no pipelines today')\n",
            "cannot load the Kedro project {project}: RuntimeError: no pipelines today "
            "(src/spaceflights/pipeline_registry.py, line 2)",
        ),
        (
            "conf/base/catalog.yml",
            "companies: [unclosed\n",
            "conf/base/catalog.yml: invalid YAML: did not find expected ',' or ']' "
            "(line 2, column 1)",
        ),
    ],
    ids=["pipeline-registry", "catalog"],
)
def test_a_broken_project_is_one_line_naming_where(
    project: Path, relative: str, text: str, message: str
) -> None:
    path = project / relative
    original = path.read_text()
    path.write_text(text)
    try:
        done = kedro(project, "airflow-k8s", "compile", "--explain")
    finally:
        path.write_text(original)
    _assert_clean_error(done, message.format(project=project))


def test_a_timeout_that_is_not_a_number_is_a_usage_error(project: Path) -> None:
    done = kedro(project, "airflow-k8s", "--timeout", "nan", "compile")
    _assert_clean_error(
        done,
        "Invalid value for '--timeout': nan is not a number of seconds "
        "(see 'kedro airflow-k8s --help')",
        EXIT_USAGE,
    )


def test_a_dag_name_too_long_for_airflow_says_so(project: Path) -> None:
    done = kedro(project, "airflow-k8s", "schedule", "-d", "d" * 251)
    _assert_clean_error(
        done,
        "-d/--dag-name 'dddddddddddddddddddd'... is 251 characters: a DAG id takes at most 250",
        EXIT_USAGE,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["compile", "--no-such-option"],
            "No such option '--no-such-option' (see 'kedro airflow-k8s compile --help')",
        ),
        (
            ["compile", "--outptu", "dags"],
            "No such option '--outptu'. Did you mean '--output'? "
            "(see 'kedro airflow-k8s compile --help')",
        ),
        (
            ["compile", "-o"],
            "Option '-o' requires an argument (see 'kedro airflow-k8s compile --help')",
        ),
        (["no-such-command"], "No such command 'no-such-command' (see 'kedro airflow-k8s --help')"),
        (
            ["--timeout", "soon", "compile"],
            "Invalid value for '--timeout' (env var: 'KEDRO_AIRFLOW_K8S_TIMEOUT'): 'soon' is not "
            "a valid float range (see 'kedro airflow-k8s --help')",
        ),
    ],
    ids=["option", "misspelt-option", "missing-value", "command", "group-option-value"],
)
def test_a_usage_error_is_one_line_with_the_usage_exit_code(
    project: Path, args: list[str], message: str
) -> None:
    done = kedro(project, "airflow-k8s", *args)
    _assert_clean_error(done, message, EXIT_USAGE)
    assert "Usage:" not in done.stderr and "Try '" not in done.stderr


def test_no_command_still_shows_the_help(project: Path) -> None:
    done = kedro(project, "airflow-k8s")
    assert "Commands:" in done.stdout + done.stderr
    assert "Error:" not in done.stdout + done.stderr


DAG_FILE = "spaceflights___default___local.py"


def _blocked_output(tmp_path: Path, case: str) -> tuple[Path, str]:
    """An output folder that cannot take the DAG file, and the reason the error must give."""
    if case == "file-above-the-folder":
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder\n")
        return blocker / "dags", f"{blocker} is not a folder"
    if case == "file-as-the-folder":
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder\n")
        return blocker, f"{blocker} is not a folder"
    if case == "folder-as-the-dag-file":
        output = tmp_path / "dags"
        (output / DAG_FILE).mkdir(parents=True)
        return output, f"{output / DAG_FILE} is a folder"
    assert case == "read-only-folder"
    output = tmp_path / "read-only"
    output.mkdir()
    output.chmod(0o555)
    return output / "dags", f"Permission denied to write in {output}"


@pytest.mark.parametrize(
    "case",
    ["file-above-the-folder", "file-as-the-folder", "folder-as-the-dag-file", "read-only-folder"],
)
@pytest.mark.parametrize("command", ["compile", "upload-pipeline"])
def test_an_output_that_cannot_be_written_is_one_line_naming_the_wrong_path(
    project: Path, tmp_path: Path, command: str, case: str
) -> None:
    output, reason = _blocked_output(tmp_path, case)
    before = sorted(tmp_path.rglob("*"))
    done = kedro(project, "airflow-k8s", command, "-o", str(output), honour_permissions=True)
    _assert_clean_error(done, f"cannot write {output / DAG_FILE}: {reason}", EXIT_REMOTE)
    assert sorted(tmp_path.rglob("*")) == before  # no temporary file, nothing half-written


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("memory,tags", "unknown strategy 'tags' (known: none, memory, namespace, chain)"),
        ("none,chain", "none cannot be combined with other strategies"),
        (",", "give one strategy or several (none, memory, namespace, chain)"),
    ],
)
def test_a_bad_group_by_is_a_usage_error(project: Path, value: str, problem: str) -> None:
    done = kedro(project, "airflow-k8s", "compile", "--group-by", value, "--explain")
    assert done.returncode == EXIT_USAGE, done.stderr[-2000:]
    assert f"Invalid value for '--group-by': {problem}" in done.stderr
    assert "Traceback" not in done.stderr


def test_group_by_takes_a_list_in_the_config_and_on_the_command_line(
    project: Path, tmp_path: Path
) -> None:
    env = project / "conf" / "chained"
    env.mkdir()
    (env / "kedro-airflow-k8s.yaml").write_text("run_config:\n  group_by: [memory, chain]\n")
    configured = kedro(
        project, "airflow-k8s", "-e", "chained", "compile", "--explain", "json", env=QUIET
    )
    given = kedro(
        project, "airflow-k8s", "compile", "--group-by", "memory, chain", "--explain", env=QUIET
    )
    assert configured.returncode == 0, configured.stderr[-2000:]
    assert given.returncode == 0, given.stderr[-2000:]
    plan = json.loads(configured.stdout)
    # every link of the example changes profile or branches: nothing for chain to fuse
    assert [t["fused_by"] for t in plan["tasks"]] == [["tag"]] + [[]] * 7
    assert "pipeline '__default__': 8 tasks (0 spark) from 9 nodes" in given.stdout


QUIET = {
    "KEDRO_LOGGING_CONFIG": str(
        Path(__file__).resolve().parents[1] / "scripts" / "quiet-logging.yml"
    )
}


def test_explain_prints_the_plan_and_writes_nothing(project: Path, tmp_path: Path) -> None:
    import json

    done = kedro(
        project, "airflow-k8s", "compile", "--explain", "json", "-o", str(tmp_path), env=QUIET
    )
    assert done.returncode == 0, done.stderr[-2000:]
    plan = json.loads(done.stdout)
    assert plan["pipeline"] == "__default__"
    assert [t["full_task_id"] for t in plan["tasks"]][:2] == [
        "preprocessing",
        "create_model_input_table_node",
    ]
    assert list(tmp_path.iterdir()) == []
    mermaid = kedro(project, "airflow-k8s", "compile", "--explain", "mermaid", env=QUIET)
    assert mermaid.returncode == 0 and mermaid.stdout.startswith("flowchart")
    table = kedro(project, "airflow-k8s", "compile", "--explain", env=QUIET)
    assert table.stdout.startswith("TASK")
    assert "pipeline '__default__': 8 tasks (0 spark) from 9 nodes" in table.stdout


def test_in_memory_data_across_pods_is_fused_by_default_and_refused_with_group_by_none(
    project: Path, tmp_path: Path
) -> None:
    catalog = project / "conf" / "base" / "catalog.yml"
    original = catalog.read_text()
    entry = original.index("model_input_table:")
    end = original.index("\n\n", entry)
    catalog.write_text(original[:entry] + original[end + 2 :])
    try:
        failed = kedro(
            project, "airflow-k8s", "compile", "--group-by", "none", "-o", str(tmp_path), env=QUIET
        )
        grouped = kedro(project, "airflow-k8s", "compile", "--explain", env=QUIET)
    finally:
        catalog.write_text(original)
    assert failed.returncode == EXIT_INPUT and "Traceback" not in failed.stderr
    message = [line for line in failed.stderr.splitlines() if line.startswith("Error: ")]
    assert len(message) == 1
    assert "model_input_table" in message[0] and "create_model_input_table_node" in message[0]
    assert list(tmp_path.iterdir()) == []
    assert grouped.returncode == 0, grouped.stderr[-2000:]
    assert "create_model_input_table_node" in grouped.stdout
    assert "from 9 nodes" in grouped.stdout


def test_pipelines_whose_dag_files_collide_are_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    project = copy_example(tmp_path / "src", git=False)
    registry = project / "src" / "spaceflights" / "pipeline_registry.py"
    registry.write_text(
        registry.read_text().replace(
            "    return pipelines",
            '    pipelines["data.science"] = pipelines["data_science"]\n    return pipelines',
        )
    )
    out = tmp_path / "dags"
    done = kedro(
        project, "airflow-k8s", "-p", "data_science,data.science", "compile", "-o", str(out)
    )
    _assert_clean_error(
        done,
        "pipelines 'data_science' and 'data.science' would both be written to DAG file "
        "'spaceflights_data_science_local.py': rename one of them in the pipeline registry",
    )
    assert not out.exists() or list(out.iterdir()) == []


def test_a_pipeline_without_nodes_compiles_with_a_warning(tmp_path: Path) -> None:
    """A registered pipeline with no nodes (a fresh project's ``__default__``) still gives a
    DAG, but the user is told that it runs nothing."""
    project = copy_example(tmp_path / "project")
    registry = project / "src" / "spaceflights" / "pipeline_registry.py"
    text = registry.read_text()
    registry.write_text(
        text.replace(
            "    return pipelines", '    pipelines["empty"] = Pipeline([])\n    return pipelines'
        )
    )
    done = kedro(project, "airflow-k8s", "-p", "empty", "compile", "-o", str(tmp_path / "dags"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "dags" / "spaceflights_empty_local.py").exists()
    assert (
        "Warning: pipeline 'empty' has no nodes: its DAG spaceflights.empty.local runs no Kedro "
        "node"
    ) in done.stderr
    done = kedro(project, "airflow-k8s", "-p", "data_science", "compile", "-o", str(tmp_path))
    assert done.returncode == 0 and "has no nodes" not in done.stderr, done.stderr[-2000:]
