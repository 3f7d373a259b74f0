"""The builder's dependency wiring (``link``) gives the DAG Airflow's own ``>>`` gives, on random
DAGs: same tasks, same upstream and downstream sets, same TaskGroups, same roots and leaves, same
serialized form. In a real Airflow 3 (in-process) and a real Airflow 2.10 (its own virtualenv,
through a subprocess that builds both DAGs there)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kedro_airflow_k8s.render.dag import runtime_source
from tests.helpers import handmade_spec
from tests.runtime.wiring_probe import Probe
from tests.venvs import AIRFLOW2

PROBE = Path(__file__).with_name("wiring_probe.py")
MODULES = ("params", "dag_builder", "sensors", "mlflow_run", "volume", "memory", "spark")
GROUP_NAMES = ("g0", "g1", "g2")

PROFILES: dict[str, Any] = {
    "full": {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"memory": "2Gi"},
        "node_selector": {"pool": "kedro"},
        "labels": {"team": "data"},
        "annotations": {"note": "{{ not rendered }}"},
        "tolerations": [
            {"key": "kedro", "operator": "Exists", "effect": "NoSchedule"},
            {"key": "gpu", "operator": "Equal", "value": "yes", "tolerationSeconds": 60},
        ],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                    ]
                }
            }
        },
    },
    "small": {
        "requests": {"cpu": "100m"},
        "limits": {},
        "node_selector": {},
        "labels": {},
        "annotations": {},
        "tolerations": [],
        "affinity": {},
    },
}
POD_TEMPLATES: dict[str, Any] = {
    "batch": {"template": {"spec": {"priorityClassName": "batch"}}, "image": "other:2"},
    "secure": {"template": {"spec": {"securityContext": {"runAsUser": 1000}}}, "image": None},
}
VOLUME: dict[str, Any] = {
    "storage_class": None,
    "size": "1Gi",
    "access_modes": ["ReadWriteOnce"],
    "owner": 1000,
    "mount_path": "/home/kedro/data",
    "create_task_id": "data_volume_init",
    "delete_task_id": "data_volume_delete",
}
MLFLOW: dict[str, Any] = {
    "tracking_uri": "http://127.0.0.1:9",
    "experiment_name": "demo",
    "auth": {"type": "Null", "params": []},
    "task_id": "start_mlflow_run",
    "end_task_id": "end_mlflow_run",
    "run_name": "demo",
    "image": "img:1",
}


@st.composite
def _group_path(draw: st.DrawFn, names_per_level: bool) -> tuple[str, ...]:
    depth = draw(st.integers(1, 3))
    names = [draw(st.sampled_from(GROUP_NAMES)) for _ in range(depth)]
    if names_per_level:  # a0, a0.b1, a0.b1.c2...
        return tuple("abc"[level] + name[1:] for level, name in enumerate(names))
    return tuple(names)


@st.composite
def dag_specs(draw: st.DrawFn, names_per_level: bool = False) -> dict[str, Any]:
    """A SPEC as the renderer writes it, for a random DAG: tasks ``t<i>`` whose upstream tasks
    come before them, in nested TaskGroups, with resource profiles, pod templates, external
    sensors, and the volume, mlflow and (custom) spark extensions.

    ``names_per_level``: nested groups never take a name used at the top level (Airflow 2.10
    refuses a nested group whose own name is the id of another group or task, ``g0.g0`` say)."""
    size = draw(st.integers(0, 18))
    paths = draw(st.lists(_group_path(names_per_level), max_size=4))
    tasks: list[dict[str, Any]] = []
    for index in range(size):
        group = list(draw(st.sampled_from([(), *paths])))
        upstream = draw(st.sets(st.integers(0, index - 1), max_size=4)) if index else set()
        short = f"t{index}"
        full = ".".join([*group, short])
        tasks.append(
            {
                "task_id": short,
                "full_task_id": full,
                "group": group,
                "pod_name": f"t-{index}",
                "kind": "pod",
                "nodes": [full],
                "profile": draw(st.sampled_from([None, "full", "small"])),
                "pod_template": draw(st.sampled_from([None, None, "batch", "secure"])),
                "arguments": ["kedro", "run", "--nodes", full, {"jinja": "{{ ds }}"}],
                "upstream": sorted(tasks[up]["full_task_id"] for up in upstream),
            }
        )
    used_groups = {tuple(t["group"][:i]) for t in tasks for i in range(1, len(t["group"]) + 1)}
    sensors = [
        {
            "task_id": f"wait_for_up{number}",
            "dag_id": f"up{number}",
            "external_task_id": None,
            "check_existence": True,
            "execution_delta_minutes": 0,
            "timeout_minutes": 60,
        }
        for number in range(draw(st.integers(0, 2)))
    ]
    spec = handmade_spec(
        "random.__default__.local",
        tasks,
        pod={
            "image_pull_secrets": draw(st.sampled_from([[], ["regcred"]])),
            "env_vars": draw(st.sampled_from([{}, {"X": {"jinja": "{{ var.value.X }}"}}])),
        },
        profiles=PROFILES,
        pod_templates=POD_TEMPLATES,
        task_groups=[list(path) for path in sorted(used_groups)],
        external_dependencies=sensors,
        volume=draw(
            st.sampled_from([None, {**VOLUME, "skip_init": False}, {**VOLUME, "skip_init": True}])
        ),
        mlflow=draw(st.sampled_from([None, MLFLOW, {**MLFLOW, "end_task_id": None}])),
        spark=None,
    )
    if tasks and draw(st.booleans()):
        chosen = sorted(draw(st.sets(st.integers(0, size - 1), min_size=1, max_size=4)))
        for index in chosen:
            tasks[index]["kind"] = "spark"
        spec["spark"] = {
            "type": "custom",
            "tasks": [tasks[index]["full_task_id"] for index in chosen],
            "jobs": {},
            "create_task_id": "create_spark_cluster",
            "delete_task_id": "delete_spark_cluster",
            # before the first spark task: never downstream of one (no cycle)
            "create_after": [t["full_task_id"] for t in tasks[: chosen[0]] if draw(st.booleans())],
        }
    return spec


def _source() -> str:
    return "\n\n".join(runtime_source(module).rstrip("\n") for module in MODULES)


def _check(answer: dict[str, Any], spec: dict[str, Any]) -> None:
    assert "error" not in answer, answer.get("error")
    assert answer["ours"] == answer["airflow"]
    # not vacuous: the node tasks have the SPEC's dependencies
    tasks = answer["ours"]["tasks"]
    for task in spec["tasks"]:
        node_upstream = {t for t in tasks[task["full_task_id"]]["upstream"] if t in tasks}
        assert set(task["upstream"]) <= node_upstream
    assert spec["final_task_id"] in tasks


@pytest.fixture(scope="module")
def probe() -> Probe:
    return Probe(_source())


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=dag_specs())
def test_wiring_equals_airflows_on_airflow_3(probe: Probe, spec: dict[str, Any]) -> None:
    answer = probe.compare(spec)
    assert answer["version"].startswith("3.")
    _check(answer, spec)


def test_a_dag_with_every_feature_is_wired_as_airflow_wires_it(probe: Probe) -> None:
    """One fixed SPEC with every section, so each one is compared on every run."""
    tasks = [
        {
            "task_id": f"t{i}",
            "full_task_id": f"g0.g1.t{i}" if i % 2 else f"t{i}",
            "group": ["g0", "g1"] if i % 2 else [],
            "pod_name": f"t-{i}",
            "kind": "spark" if i == 3 else "pod",
            "nodes": [f"n{i}"],
            "profile": ("full", "small", None)[i % 3],
            "pod_template": "batch" if i == 2 else None,
            "arguments": ["kedro", "run"],
            "upstream": [],
        }
        for i in range(6)
    ]
    for i, ups in {2: [0, 1], 3: [2], 4: [1], 5: [3, 4]}.items():
        tasks[i]["upstream"] = [tasks[u]["full_task_id"] for u in ups]
    spec = handmade_spec(
        "every.__default__.local",
        tasks,
        pod={"image_pull_secrets": ["regcred"], "env_vars": {"X": {"jinja": "{{ var.value.X }}"}}},
        profiles=PROFILES,
        pod_templates=POD_TEMPLATES,
        task_groups=[["g0"], ["g0", "g1"]],
        external_dependencies=[
            {
                "task_id": "wait_for_up",
                "dag_id": "up",
                "external_task_id": "done",
                "check_existence": False,
                "execution_delta_minutes": 5,
                "timeout_minutes": 60,
            }
        ],
        volume={**VOLUME, "skip_init": False},
        mlflow=MLFLOW,
        spark={
            "type": "custom",
            "tasks": ["g0.g1.t3"],
            "jobs": {},
            "create_task_id": "create_spark_cluster",
            "delete_task_id": "delete_spark_cluster",
            "create_after": ["t2"],
        },
    )
    answer = probe.compare(spec)
    _check(answer, spec)
    tasks_out = answer["ours"]["tasks"]
    assert tasks_out["data_volume_init"]["upstream"] == ["start_mlflow_run", "wait_for_up"]
    assert tasks_out["create_spark_cluster"]["upstream"] == ["t2"]
    assert "g0.g1" in answer["ours"]["groups"]


def test_link_refuses_tasks_of_two_dags(probe: Probe) -> None:
    """What ``>>`` refuses, ``link`` refuses: tasks that do not share one DAG."""
    empty = probe.ours["EmptyOperator"]
    dag_class = probe.ours["DAG"]
    with dag_class("one", schedule=None) as one:
        a = empty(task_id="a")
    with dag_class("two", schedule=None):
        b = empty(task_id="b")
    with pytest.raises(ValueError, match="same DAG"):
        probe.ours["link"](a, b)
    assert not a.downstream_task_ids and not b.upstream_task_ids
    assert one.task_dict == {"a": a}


# --- Airflow 2.10 ---------------------------------------------------------------------------------


class Airflow2Probe:
    """wiring_probe.py running in the Airflow 2.10 virtualenv, one SPEC per request."""

    def __init__(self, python: Path, home: Path) -> None:
        source = home / "runtime.py"
        source.write_text(_source())
        env = {
            "PATH": f"{python.parent}:{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "HOME": str(home),
        }
        self.process = subprocess.Popen(
            [str(python), str(PROBE), str(source)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        self.answers: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.answers.put(line)

    def compare(self, spec: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(spec) + "\n")
        self.process.stdin.flush()
        try:  # the first answer waits for Airflow 2.10 to import
            answer: dict[str, Any] = json.loads(self.answers.get(timeout=180))
        except queue.Empty:
            raise AssertionError("no answer from the Airflow 2.10 probe in 180 s") from None
        return answer

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def airflow2_probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow2Probe]:
    from tests.venvs import AIRFLOW2, venv_python

    probe = Airflow2Probe(venv_python(AIRFLOW2), tmp_path_factory.mktemp("airflow2-wiring"))
    yield probe
    probe.close()


@pytest.mark.airflow2
@pytest.mark.venv(AIRFLOW2)
@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=dag_specs(names_per_level=True))
def test_wiring_equals_airflows_on_airflow_2_10(
    airflow2_probe: Airflow2Probe, spec: dict[str, Any]
) -> None:
    answer = airflow2_probe.compare(spec)
    assert answer.get("version", "").startswith("2.10."), answer
    _check(answer, spec)
