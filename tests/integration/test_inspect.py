"""Generated operators stay inspectable with Airflow's own tools, and strings that look like
templates (Jinja delimiters, template file names) come out of them verbatim.

The bundled example is compiled with the real CLI, its config given such strings wherever a
user's text reaches an operator's template field: annotations, a pod template, the Kubernetes
connection id and the volume's mount path. Then ``KubernetesPodOperator.dry_run()`` runs on every
pod task of a real DagBag, and the real ``airflow tasks render`` on a DAG folder in a temporary
AIRFLOW_HOME with SQLite.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import VENV_BIN, copy_example, kedro

pytestmark = pytest.mark.airflow

ANNOTATIONS = {
    "example.com/variable": "{{ var.value.secret }}",
    "example.com/block": "{% if true %}x{% endif %}",
    "example.com/comment": "{# note #}",
    "example.com/script": "run.sh",
    "example.com/settings": "conf.json",
    "example.com/values": "values.yaml",
}
TEMPLATE_ANNOTATION = "{{ run_id }} and {{ dag.dag_id }}"
TEMPLATE_ENV_VALUE = "settings.yaml"
CONN_ID = "k8s_{{ ds }}"
MOUNT_PATH = "/home/kedro/data/{{ ds }}"
TEMPLATE = f"""\
metadata:
  annotations:
    example.com/from-template: '{TEMPLATE_ANNOTATION}'
spec:
  containers:
  - name: base
    env:
    - name: SETTINGS
      value: '{TEMPLATE_ENV_VALUE}'
"""


@pytest.fixture(scope="module")
def dags(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("inspect")
    project = copy_example(base)
    path = project / "conf" / "base" / "kedro-airflow-k8s.yaml"
    config = yaml.safe_load(path.read_text())
    run_config = config["run_config"]
    for profile in run_config["resources"].values():  # every pod has a profile
        profile["annotations"] = {**profile.get("annotations", {}), **ANNOTATIONS}
    run_config["kubernetes_conn_id"] = CONN_ID
    run_config["kubernetes_pod_templates"] = {"__default__": {"template": TEMPLATE}}
    run_config["volume"] = {"mount_path": MOUNT_PATH, "owner": 1000}
    path.write_text(yaml.safe_dump(config))
    folder = base / "dags"
    done = kedro(project, "airflow-k8s", "compile", "-o", str(folder))
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def _pod_tasks(folder: Path) -> list[Any]:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    bag = DagBag(dag_folder=str(folder))
    assert bag.import_errors == {}
    dag = next(iter(bag.dags.values()))
    return [task for task in dag.tasks if isinstance(task, KubernetesPodOperator)]


def test_dry_run_prints_every_pod_with_the_strings_verbatim(
    dags: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = _pod_tasks(dags)
    assert "data_volume_init" in {task.task_id for task in tasks}
    for task in tasks:
        task.dry_run()
        printed = capsys.readouterr().out
        # The provider logs a line on stdout before the manifest (keys sorted: api_version first).
        pod = yaml.safe_load(printed[printed.index("api_version:") :])
        annotations = pod["metadata"]["annotations"]
        assert {k: annotations[k] for k in ANNOTATIONS} == ANNOTATIONS, task.task_id
        assert annotations["example.com/from-template"] == TEMPLATE_ANNOTATION
        base = next(c for c in pod["spec"]["containers"] if c["name"] == "base")
        env = {e["name"]: e.get("value") for e in base.get("env") or []}
        assert env["SETTINGS"] == TEMPLATE_ENV_VALUE
        if task.task_id == "data_volume_init":
            assert base["args"] == ["-R", f"{MOUNT_PATH}/.", "/mnt/kedro-data-volume"]
        else:
            assert {"mount_path": MOUNT_PATH, "name": "kedro-data-volume"} in base["volume_mounts"]


def _airflow(home: Path, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(folder),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW_VAR_AWS_DEFAULT_REGION="eu-west-1",  # the example's env_vars Variable
    )
    done = subprocess.run(
        [str(VENV_BIN / "airflow"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    return done


@pytest.mark.slow
def test_airflow_tasks_render_keeps_the_strings_verbatim(dags: Path, tmp_path: Path) -> None:
    home = tmp_path / "airflow-home"
    home.mkdir()
    _airflow(home, dags, "db", "migrate")
    _airflow(home, dags, "dags", "reserialize")
    dag_id = "spaceflights.__default__.local"
    node = _airflow(home, dags, "tasks", "render", dag_id, "preprocessing", "2026-01-01").stdout
    for text in (*ANNOTATIONS.values(), TEMPLATE_ANNOTATION, TEMPLATE_ENV_VALUE, CONN_ID):
        assert repr(text) in node or f"\n{text}\n" in node, text
    # The plugin's own templates are rendered: the Airflow Variable, the (empty) --params.
    assert "'value': 'eu-west-1'" in node
    assert "'--params='" in node
    init = _airflow(home, dags, "tasks", "render", dag_id, "data_volume_init", "2026-01-01").stdout
    assert repr(["-R", f"{MOUNT_PATH}/.", "/mnt/kedro-data-volume"]) in init
