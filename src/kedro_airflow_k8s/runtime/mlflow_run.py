"""One MLflow run per DAG run, shared by every pod of the run.

This module runs inside Airflow: the renderer embeds its source verbatim after the DAG builder's
and passes :class:`MlflowExtension` to ``build_dag`` when SPEC has an ``"mlflow"`` section::

    {"tracking_uri": str, "experiment_name": str, "run_name": str, "image": str,
     "task_id": "start_mlflow_run",            # the task that starts the run
     "end_task_id": "end_mlflow_run",          # optional; None: no end task
     "artifact_location": str | None,          # optional, used only to create the experiment
     "experiment_tags": {str: str},            # optional, idem
     "auth": {"type": "Null" | "GoogleOAuth2" | "Vars", "params": [str, ...]}}

* The start task (upstream of every root node task) authenticates, creates the experiment or
  reuses it, creates the run tagged with the DAG id, the Airflow run id, the logical date (when
  the run has one) and the image, and returns the MLflow run id (XCom). A retry of the same DAG run
  finds that run again by its tags instead of starting a second one.
* Every node pod gets ``MLFLOW_RUN_ID`` (rendered from that XCom): kedro-mlflow's
  ``mlflow.start_run()`` resumes the run instead of creating one. The experiment kedro-mlflow sets
  in the pod (mlflow.yml ``tracking.experiment.name``) must be the one above, or MLflow refuses.
* The end task (after every leaf node task, whatever their outcome) marks the run FINISHED or
  FAILED from the states of the node tasks, and gives it back its name (kedro-mlflow renames the
  run after the pipeline in every pod).

Authentication: ``Null`` does nothing; ``GoogleOAuth2`` fetches an ID token for the audience in
the environment variable ``GOOGLE_AUDIENCE`` with the worker's Google credentials and sets
``MLFLOW_TRACKING_TOKEN``; ``Vars`` exports the Airflow Variables named in ``params`` as
environment variables of the same names (``MLFLOW_TRACKING_USERNAME``...), here and in the pods.

Imports: the standard library and Airflow at the top, mlflow and google-auth inside the functions
that use them (the DAG file is parsed without them). Top-level names start with ``mlflow`` /
``Mlflow`` (``_mlflow`` when private) so they cannot clash with the other embedded modules.
"""

import hashlib
import logging
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

try:  # Airflow 3
    from airflow.sdk import BaseOperator, Variable
except ImportError:  # Airflow 2.10
    from airflow.models import BaseOperator, Variable  # type: ignore[assignment,no-redef]
try:  # the task SDK's own, in its newer releases
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 2.10, and 3.x before the task SDK had it
    from airflow.exceptions import AirflowFailException  # type: ignore[no-redef]

if TYPE_CHECKING:  # the SPEC's types; never imported inside Airflow (runtime/spec.py)
    from .spec import DagSpec, MlflowAuthSpec, MlflowSpec, TaskSpec


MLFLOW_START_TASK_ID = "start_mlflow_run"
MLFLOW_END_TASK_ID = "end_mlflow_run"
MLFLOW_RUN_ID_ENV = "MLFLOW_RUN_ID"
MLFLOW_TAG_DAG_ID = "airflow.dag_id"
MLFLOW_TAG_RUN_ID = "airflow.run_id"
MLFLOW_TAG_LOGICAL_DATE = "airflow.logical_date"
MLFLOW_TAG_RUN_AFTER = "airflow.run_after"
MLFLOW_TAG_IMAGE = "kedro_airflow_k8s.image"
MLFLOW_TAG_RUN_KEY = "kedro_airflow_k8s.dag_run_key"  # hex digest of dag id + run id: searchable
MLFLOW_FAILED_STATES = frozenset({"failed", "upstream_failed"})

_mlflow_log = logging.getLogger("kedro_airflow_k8s.mlflow")


class MlflowRunError(AirflowFailException):
    """The MLflow run cannot be started as configured; retrying would not help."""


def _mlflow_safe_uri(uri: str) -> str:
    """The tracking URI without user name and password, for messages."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def mlflow_dag_run_key(dag_id: str, run_id: str) -> str:
    """A tag value naming one DAG run that MLflow's search syntax can hold as is."""
    return hashlib.sha256(f"{dag_id}\n{run_id}".encode()).hexdigest()[:40]


# --- authentication ------------------------------------------------------------------------------


def mlflow_authenticate(auth: "MlflowAuthSpec | None") -> None:
    """Make the credentials of ``auth`` available to the MLflow client of this process."""
    kind = (auth.get("type") if auth else None) or "Null"
    params = [str(name) for name in (auth.get("params") if auth else None) or []]
    if kind == "Null":
        return
    if kind == "GoogleOAuth2":
        _mlflow_google_token()
    elif kind == "Vars":
        _mlflow_export_variables(params)
    else:
        raise MlflowRunError(
            f"unknown MLflow authentication type {kind!r}: use Null, GoogleOAuth2 or Vars"
        )


def _mlflow_google_token() -> None:
    from google.auth.transport.requests import Request
    from google.oauth2 import id_token

    audience = os.environ.get("GOOGLE_AUDIENCE")
    if not audience:
        raise MlflowRunError(
            "MLflow authentication GoogleOAuth2 needs the environment variable GOOGLE_AUDIENCE "
            "(the OAuth client id of the tracking server) in the Airflow worker"
        )
    token = id_token.fetch_id_token(Request(), audience)
    os.environ["MLFLOW_TRACKING_TOKEN"] = token


def _mlflow_export_variables(names: list[str]) -> None:
    missing = []
    for name in names:
        value = Variable.get(name, None)  # positional: the keyword differs in Airflow 2 and 3
        if value is None:
            missing.append(name)
        else:
            os.environ[name] = str(value)
    if missing:
        raise MlflowRunError(
            "MLflow authentication Vars: the Airflow Variable(s) "
            + ", ".join(missing)
            + " are not set; create them (airflow variables set NAME VALUE)"
        )


# --- experiment and run --------------------------------------------------------------------------


def mlflow_experiment_id(
    client: Any,
    name: str,
    artifact_location: str | None = None,
    tags: dict[str, Any] | None = None,
) -> str:
    """The id of the active experiment ``name``, created when there is none."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return str(
                client.create_experiment(
                    name, artifact_location=artifact_location or None, tags=tags or None
                )
            )
        except MlflowException as error:  # created meanwhile by someone else: use theirs
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        uri = _mlflow_safe_uri(str(client.tracking_uri))
        raise MlflowRunError(
            f"the MLflow experiment {name!r} (id {experiment.experiment_id}) at {uri} is "
            "deleted. Restore it (MLflow UI, or `mlflow experiments restore --experiment-id "
            f"{experiment.experiment_id}` with MLFLOW_TRACKING_URI={uri}), or delete it for good "
            "(`mlflow gc`), or use another experiment name (tracking.experiment.name in the "
            "project's mlflow.yml) and compile the DAG again"
        )
    return str(experiment.experiment_id)


def mlflow_find_run(client: Any, experiment_id: str, dag_id: str, run_id: str) -> str | None:
    """The MLflow run an earlier try of this DAG run created, if any."""
    from mlflow.entities import ViewType

    key = mlflow_dag_run_key(dag_id, run_id)
    found = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{MLFLOW_TAG_RUN_KEY}` = '{key}'",
        run_view_type=ViewType.ACTIVE_ONLY,
        max_results=10,
        order_by=["attributes.start_time ASC"],
    )
    for run in found:  # the digest could collide in theory: check the readable tags too
        tags = run.data.tags
        if tags.get(MLFLOW_TAG_DAG_ID) == dag_id and tags.get(MLFLOW_TAG_RUN_ID) == run_id:
            return str(run.info.run_id)
    return None


def mlflow_run_tags(
    dag_id: str, run_id: str, logical_date: Any = None, run_after: Any = None, image: Any = None
) -> dict[str, str]:
    """Tags of the MLflow run of a DAG run; values that do not exist are left out."""
    tags = {
        MLFLOW_TAG_DAG_ID: dag_id,
        MLFLOW_TAG_RUN_ID: run_id,
        MLFLOW_TAG_RUN_KEY: mlflow_dag_run_key(dag_id, run_id),
    }
    for key, value in (
        (MLFLOW_TAG_LOGICAL_DATE, logical_date),
        (MLFLOW_TAG_RUN_AFTER, run_after),
        (MLFLOW_TAG_IMAGE, image),
    ):
        if value is not None and value != "":
            tags[key] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return tags


def mlflow_start_run(
    mlflow_spec: "MlflowSpec",
    dag_id: str,
    run_id: str,
    logical_date: Any = None,
    run_after: Any = None,
) -> str:
    """Create the MLflow run of a DAG run (or find the one an earlier try created): its id."""
    from mlflow.entities import RunStatus
    from mlflow.tracking import MlflowClient

    mlflow_authenticate(mlflow_spec.get("auth"))
    client = MlflowClient(tracking_uri=mlflow_spec["tracking_uri"])
    experiment_id = mlflow_experiment_id(
        client,
        mlflow_spec["experiment_name"],
        mlflow_spec.get("artifact_location"),
        mlflow_spec.get("experiment_tags"),
    )
    existing = mlflow_find_run(client, experiment_id, dag_id, run_id)
    if existing is not None:
        client.update_run(existing, status=RunStatus.to_string(RunStatus.RUNNING))
        _mlflow_log.info("Reusing MLflow run %s of DAG run %s", existing, run_id)
        return existing
    tags = mlflow_run_tags(dag_id, run_id, logical_date, run_after, mlflow_spec.get("image"))
    run = client.create_run(
        experiment_id, run_name=mlflow_spec.get("run_name") or dag_id, tags=tags
    )
    _mlflow_log.info(
        "Started MLflow run %s in experiment %r (%s)",
        run.info.run_id,
        mlflow_spec["experiment_name"],
        _mlflow_safe_uri(mlflow_spec["tracking_uri"]),
    )
    return str(run.info.run_id)


def mlflow_end_run(
    mlflow_spec: "MlflowSpec", mlflow_run_id: str, failed: bool | None, run_name: str | None
) -> str | None:
    """Mark the run FINISHED or FAILED (``failed`` None: leave its status) and restore its name.

    Returns the status set, if any."""
    from mlflow.entities import RunStatus
    from mlflow.tracking import MlflowClient

    mlflow_authenticate(mlflow_spec.get("auth"))
    client = MlflowClient(tracking_uri=mlflow_spec["tracking_uri"])
    if run_name:
        client.update_run(mlflow_run_id, name=run_name)
    if failed is None:
        return None
    status = RunStatus.to_string(RunStatus.FAILED if failed else RunStatus.FINISHED)
    client.set_terminated(mlflow_run_id, status=status)
    return status


def mlflow_failed_tasks(context: Any, task_ids: list[str]) -> list[str] | None:
    """Those of ``task_ids`` that failed in this DAG run (None: the states are not available)."""
    ti = context.get("ti") or context.get("task_instance")
    states: dict[str, Any] | None = None
    get_task_states = getattr(ti, "get_task_states", None)
    dag_run = context.get("dag_run")
    if get_task_states is not None:  # Airflow 3: through the execution API
        by_run = get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id])
        states = dict(by_run.get(ti.run_id) or {})
    elif dag_run is not None and hasattr(dag_run, "get_task_instances"):  # Airflow 2.10
        states = {t.task_id: t.state for t in dag_run.get_task_instances()}
    if states is None:
        return None
    return sorted(
        task_id
        for task_id in task_ids
        if str(getattr(states.get(task_id), "value", states.get(task_id))) in MLFLOW_FAILED_STATES
    )


# --- operators and the extension -----------------------------------------------------------------


class MlflowStartRunOperator(BaseOperator):
    """Start the DAG run's MLflow run (or find it again on a retry); returns its id (XCom)."""

    template_fields = ()
    ui_color = "#d8ecf7"

    def __init__(self, *, mlflow_spec: "MlflowSpec", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mlflow_spec = mlflow_spec

    def execute(self, context: Any) -> str:
        dag_run = context.get("dag_run")
        return mlflow_start_run(
            self.mlflow_spec,
            dag_id=self.dag_id,
            run_id=context["run_id"],
            logical_date=context.get("logical_date") or getattr(dag_run, "logical_date", None),
            run_after=getattr(dag_run, "run_after", None),
        )


class MlflowEndRunOperator(BaseOperator):
    """After the node tasks, whatever their outcome: mark the MLflow run FINISHED or FAILED."""

    template_fields = ()
    ui_color = "#d8ecf7"

    def __init__(
        self, *, mlflow_spec: "MlflowSpec", node_task_ids: list[str], **kwargs: Any
    ) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.mlflow_spec = mlflow_spec
        self.node_task_ids = list(node_task_ids)

    def execute(self, context: Any) -> str | None:
        start_task = self.mlflow_spec.get("task_id") or MLFLOW_START_TASK_ID
        mlflow_run_id = context["ti"].xcom_pull(task_ids=start_task)
        if not mlflow_run_id:
            _mlflow_log.warning("No MLflow run to end: %s did not start one", start_task)
            return None
        failed = mlflow_failed_tasks(context, self.node_task_ids)
        if failed is None:
            _mlflow_log.warning("Task states not available: MLflow run status left as it is")
        elif failed:
            _mlflow_log.info("Failed tasks %s: MLflow run %s FAILED", failed, mlflow_run_id)
        run_name = self.mlflow_spec.get("run_name") or self.dag_id
        return mlflow_end_run(
            self.mlflow_spec, mlflow_run_id, None if failed is None else bool(failed), run_name
        )


class MlflowExtension:
    """DAG builder extension (see dag_builder): one MLflow run per DAG run."""

    @staticmethod
    def pod_arguments(spec: "DagSpec", task: "TaskSpec", kwargs: dict[str, Any]) -> None:
        mlflow_spec = spec.get("mlflow")
        if not mlflow_spec:
            return
        env = kwargs.get("env_vars")
        env = dict(env) if env else {}
        start_task = mlflow_spec.get("task_id") or MLFLOW_START_TASK_ID
        env[MLFLOW_RUN_ID_ENV] = {"jinja": "{{ ti.xcom_pull(task_ids=" + repr(start_task) + ") }}"}
        auth = mlflow_spec.get("auth")
        if auth and auth.get("type") == "Vars":
            for name in auth.get("params") or []:
                if not str(name).isidentifier():
                    raise ValueError(f"MLflow auth variable {name!r} is not a valid name")
                env.setdefault(str(name), {"jinja": "{{ var.value." + str(name) + " }}"})
        kwargs["env_vars"] = env

    @staticmethod
    def add_tasks(
        dag: Any, spec: "DagSpec", roots: list[Any], leaves: list[Any]
    ) -> list[tuple[Any, Any]]:
        mlflow_spec = spec.get("mlflow")
        if not mlflow_spec:
            return []
        start = MlflowStartRunOperator(
            task_id=mlflow_spec.get("task_id") or MLFLOW_START_TASK_ID,
            mlflow_spec=mlflow_spec,
            dag=dag,
        )
        edges = [(start, root) for root in roots]
        end_task_id = mlflow_spec.get("end_task_id", MLFLOW_END_TASK_ID)
        if end_task_id:
            end = MlflowEndRunOperator(
                task_id=end_task_id,
                mlflow_spec=mlflow_spec,
                node_task_ids=[task["full_task_id"] for task in spec.get("tasks", [])],
                dag=dag,
            )
            edges.append((start, end))
            edges += [(leaf, end) for leaf in leaves]
        return edges
