"""Values that the config used to accept and that broke the DAG later (at import, in the
scheduler, in a sensor, a retry or the pods) are refused when compiling, with one line naming
the key; the largest and smallest values still accepted make a DAG Airflow 3 takes.

Why each limit: durations are seconds (or minutes) in a signed 32-bit integer, what Python's
C calls and Airflow's integer columns hold (far beyond that, ``timedelta`` itself overflows:
``retry_delay: 100000000000000`` used to compile and fail at import); retries fit Airflow's
32-bit try counters; fsGroup is a Kubernetes int32 of 0 or more; start dates leave room for
every date derived from them within Python's years 1 to 9999.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s.config import parse_config
from kedro_airflow_k8s.config.base import INT32_MAX, INT64_MAX, MAX_MINUTES, MAX_SECONDS
from kedro_airflow_k8s.errors import ConfigError
from tests.integration.config_space import airflow_takes

PREFIX = "airflow-k8s config: run_config."


def rc(**keys: Any) -> dict[str, Any]:
    return {"run_config": {"image": "repo/image:1", **keys}}


def dependency(**keys: Any) -> dict[str, Any]:
    return rc(external_dependencies=[{"dag_id": "upstream", **keys}])


REFUSED = [
    (
        "retry-delay-beyond-timedelta",
        rc(retry_delay=100_000_000_000_000),
        f"retry_delay: input should be less than or equal to {MAX_SECONDS} (got 100000000000000)",
    ),
    (
        "retry-delay-beyond-int32",
        rc(retry_delay=MAX_SECONDS + 1),
        f"retry_delay: input should be less than or equal to {MAX_SECONDS} (got {MAX_SECONDS + 1})",
    ),
    (
        "retries-beyond-int32",
        rc(retries=INT32_MAX + 1),
        f"retries: input should be less than or equal to {INT32_MAX} (got {INT32_MAX + 1})",
    ),
    (
        "startup-time-beyond-int32",
        rc(startup_time=2**64),
        f"startup_time: input should be less than or equal to {MAX_SECONDS} (got {2**64})",
    ),
    (
        "sensor-timeout-beyond-c-int",
        dependency(timeout=10**14),
        "external_dependencies[0].timeout: input should be less than or equal to "
        f"{MAX_MINUTES} (got 100000000000000)",
    ),
    (
        "sensor-delta-beyond-timedelta",
        dependency(execution_delta=10**13),
        "external_dependencies[0].execution_delta: input should be less than or equal to "
        f"{MAX_MINUTES} (got 10000000000000)",
    ),
    (
        "sensor-dag-id-too-long",
        dependency(dag_id="d" * 251),
        "external_dependencies[0].dag_id: 'dddddddddddddddddddd'... is 251 characters: an "
        "Airflow id takes at most 250",
    ),
    (
        "start-date-without-a-next-run",
        rc(start_date="99991231"),
        "start_date: '99991231' is outside 01000101-98991231, the dates whose runs, retries and "
        "sensors stay within the years Python holds",
    ),
    (
        "start-date-too-early-for-a-sensor",
        rc(start_date="00010101"),
        "start_date: '00010101' is outside 01000101-98991231, the dates whose runs, retries and "
        "sensors stay within the years Python holds",
    ),
    (
        "fs-group-negative",
        rc(volume={"owner": -1}),
        "volume.owner: input should be greater than or equal to 0 (got -1)",
    ),
    (
        "fs-group-beyond-int32",
        rc(volume={"owner": INT32_MAX + 1}),
        f"volume.owner: input should be less than or equal to {INT32_MAX} (got {INT32_MAX + 1})",
    ),
    (
        "toleration-seconds-beyond-int64",
        rc(
            resources={
                "p": {"tolerations": [{"operator": "Exists", "tolerationSeconds": INT64_MAX + 1}]}
            }
        ),
        "resources.p.tolerations[0].tolerationSeconds: input should be less than or equal to "
        f"{INT64_MAX} (got {INT64_MAX + 1})",
    ),
    (
        "pull-secret-not-a-kubernetes-name",
        rc(image_pull_secrets=["Registry Credentials"]),
        "image_pull_secrets: 'Registry Credentials' is not a valid Kubernetes Secret name: at "
        "most 253 lowercase letters, digits, '-' or '.', starting and ending with a letter or "
        "digit",
    ),
    (
        "service-account-not-a-kubernetes-name",
        rc(service_account_name="Runner_1"),
        "service_account_name: 'Runner_1' is not a valid Kubernetes ServiceAccount name: at "
        "most 253 lowercase letters, digits, '-' or '.', starting and ending with a letter or "
        "digit",
    ),
    (
        "storage-class-not-a-kubernetes-name",
        rc(volume={"storageclass": "Fast SSD"}),
        "volume.storageclass: 'Fast SSD' is not a valid Kubernetes StorageClass name: at most "
        "253 lowercase letters, digits, '-' or '.', starting and ending with a letter or digit",
    ),
    (
        "pod-template-image-not-an-image",
        rc(kubernetes_pod_templates={"t": {"template": "kind: Pod", "image": "my image"}}),
        "kubernetes_pod_templates.t.image: 'my image' is not a valid image reference",
    ),
    (
        "schedule-that-never-runs",
        rc(cron_expression="0 0 31 2 *"),
        "cron_expression: '0 0 31 2 *' never runs: no date matches it",
    ),
]


@pytest.mark.parametrize(
    ("document", "message"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_a_value_that_breaks_later_is_refused_when_compiling(
    document: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(document)
    assert caught.value.message == PREFIX + message


EXTREMES = {
    "largest": rc(
        retries=INT32_MAX,
        retry_delay=MAX_SECONDS,
        startup_time=MAX_SECONDS,
        start_date="98991231",
        cron_expression="@yearly",
        volume={"owner": INT32_MAX},
        resources={
            "__default__": {"tolerations": [{"operator": "Exists", "tolerationSeconds": INT64_MAX}]}
        },
        external_dependencies=[
            {
                "dag_id": "d" * 250,
                "task_id": "t" * 250,
                "timeout": MAX_MINUTES,
                "execution_delta": MAX_MINUTES,
            }
        ],
    ),
    "smallest": rc(
        retries=0,
        retry_delay=0,
        startup_time=1,
        start_date="01000101",
        cron_expression="0 0 L * *",
        volume={"owner": 0},
        resources={
            "__default__": {
                "tolerations": [{"operator": "Exists", "tolerationSeconds": -INT64_MAX - 1}]
            }
        },
        external_dependencies=[
            {"dag_id": "u", "timeout": 1, "execution_delta": MAX_MINUTES},
            {"dag_id": "u", "timeout": 1, "execution_delta": 0},
        ],
    ),
}


@pytest.mark.airflow
@pytest.mark.parametrize("name", sorted(EXTREMES))
def test_the_extremes_still_accepted_make_a_dag_airflow_takes(name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        airflow_takes(parse_config(EXTREMES[name]), Path(folder))
