"""What the project's kedro-mlflow configuration says, read through the project's config loader.

kedro-mlflow (2.x) reads ``mlflow.yml`` (config pattern ``mlflow``: ``mlflow*``, ``mlflow*/**``,
``**/mlflow*`` in ``conf/base`` and the run environment) in every ``kedro run``, so in every pod.
The DAG's own MLflow step (see ``runtime/mlflow_run.py``) has to agree with it on

* the tracking URI: ``server.mlflow_tracking_uri``; kedro-mlflow's default when it is unset is
  ``mlruns``, a folder under the project, i.e. a local file store;
* the experiment: ``tracking.experiment.name``, by default the project's package name. MLflow
  refuses to resume a run (``MLFLOW_RUN_ID``) from another experiment than the one kedro-mlflow
  sets, so the DAG must create its run in exactly this experiment;
* how the experiment is created (``tracking.experiment.create_experiment_kwargs``): the DAG
  creates it first, so kedro-mlflow's own creation never happens.

Nothing here contacts a tracking server.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from kedro_airflow_k8s.errors import ConfigError
from kedro_airflow_k8s.snapshot import NO_ENTRIES

MLFLOW_CONFIG_KEY = "mlflow"
MLFLOW_CONFIG_PATTERNS = ["mlflow*", "mlflow*/**", "**/mlflow*"]  # as kedro-mlflow registers it
DEFAULT_TRACKING_URI = "mlruns"  # kedro-mlflow's default: <project>/mlruns
_LOCAL_SCHEMES = frozenset({"", "file", "sqlite"})
_REMOTE_NAMES = frozenset({"databricks", "databricks-uc"})  # reserved names, not folders
_RANDOM_NAME_RESOLVER = "km.random_name"
# How DISABLE_HOOKS_FOR_PLUGINS may name it; Kedro matches the distribution's metadata name, which
# is "kedro_mlflow" for 2.0.3.
_KEDRO_MLFLOW_NAMES = frozenset({"kedro_mlflow", "kedro-mlflow"})


class MlflowSettings(NamedTuple):
    """The parts of a project's kedro-mlflow configuration the DAG depends on."""

    tracking_uri: str
    experiment_name: str | None  # None: kedro-mlflow uses the package name
    artifact_location: str | None = None
    experiment_tags: Mapping[str, str] = NO_ENTRIES
    run_name: str | None = None
    fixed_run_id: str | None = None  # tracking.run.id: every `kedro run` logs into that run
    disabled_pipelines: tuple[str, ...] = ()
    tracking_uri_configured: bool = True  # False: server.mlflow_tracking_uri was not set

    @property
    def is_local(self) -> bool:
        """True when the tracking URI is a path or file (file store, SQLite) on the machine
        that runs the code: each pod would write its own, and Airflow's workers another one."""
        if self.tracking_uri in _REMOTE_NAMES:
            return False
        if len(self.tracking_uri) > 1 and self.tracking_uri[1] == ":":
            return True  # a Windows drive letter
        return urlsplit(self.tracking_uri).scheme.lower() in _LOCAL_SCHEMES

    def tracking_disabled_for(self, pipeline: str) -> bool:
        """kedro-mlflow logs nothing for this pipeline (``tracking.disable_tracking``)."""
        return pipeline in self.disabled_pipelines

    def warnings(self) -> list[str]:
        """Problems to show to the user when compiling a DAG with these settings."""
        out = []
        if self.is_local:
            origin = "" if self.tracking_uri_configured else " (kedro-mlflow's default)"
            out.append(
                f"mlflow.yml: server.mlflow_tracking_uri is {self.tracking_uri!r}{origin}, a "
                "local store the pods and Airflow cannot share; set it to the URL of a tracking "
                "server (http(s)://...) or a shared database"
            )
        if self.fixed_run_id:
            out.append(
                f"mlflow.yml: tracking.run.id is set ({self.fixed_run_id!r}): kedro-mlflow logs "
                "every run into that MLflow run, not the one the DAG starts; set it to null"
            )
        return out


def kedro_mlflow_installed() -> bool:
    """kedro-mlflow is importable here (the project's environment)."""
    return importlib.util.find_spec("kedro_mlflow") is not None


def read_mlflow_settings(
    config_loader: Any,
    *,
    package_name: str | None = None,
    disabled_plugins: Iterable[str] = (),
) -> MlflowSettings | None:
    """The project's kedro-mlflow settings, or None when the project does not use kedro-mlflow:
    kedro-mlflow not installed, its hook in ``disabled_plugins`` (the project's
    ``settings.DISABLE_HOOKS_FOR_PLUGINS``), or no ``mlflow`` config (no mlflow.yml in base or the
    run environment).

    Values go through the config loader: the run environment overrides base and interpolations
    are resolved. With ``package_name``, an unset experiment name becomes the package name, as
    kedro-mlflow does.
    """
    from kedro.config import MissingConfigException
    from omegaconf.errors import OmegaConfBaseException

    if not kedro_mlflow_installed() or _KEDRO_MLFLOW_NAMES & set(disabled_plugins):
        return None
    patterns = config_loader.config_patterns
    if MLFLOW_CONFIG_KEY not in patterns:
        patterns[MLFLOW_CONFIG_KEY] = list(MLFLOW_CONFIG_PATTERNS)
    _register_kedro_mlflow_resolver()
    try:
        raw = config_loader[MLFLOW_CONFIG_KEY]
    except MissingConfigException:
        return None
    except (OmegaConfBaseException, ValueError) as error:
        raise ConfigError(f"mlflow.yml: {error}") from error
    return parse_mlflow_config(raw or {}, package_name=package_name)


def parse_mlflow_config(
    raw: Mapping[str, Any], *, package_name: str | None = None
) -> MlflowSettings:
    """Settings from the merged content of mlflow.yml (a plain mapping)."""
    server = _section(raw, "server")
    tracking = _section(raw, "tracking")
    experiment = _section(tracking, "experiment", "tracking.")
    create = _section(experiment, "create_experiment_kwargs", "tracking.experiment.")
    run = _section(tracking, "run", "tracking.")
    disable = _section(tracking, "disable_tracking", "tracking.")

    uri = _optional_str(server, "mlflow_tracking_uri", "server.")
    name = _optional_str(experiment, "name", "tracking.experiment.") or package_name
    tags = create.get("tags") or {}
    if not isinstance(tags, Mapping):
        raise ConfigError(
            "mlflow.yml: tracking.experiment.create_experiment_kwargs.tags: a mapping"
        )
    pipelines = disable.get("pipelines") or []
    if not isinstance(pipelines, list):
        raise ConfigError("mlflow.yml: tracking.disable_tracking.pipelines: a list of names")
    return MlflowSettings(
        tracking_uri=uri or DEFAULT_TRACKING_URI,
        experiment_name=name,
        artifact_location=_optional_str(
            create, "artifact_location", "tracking.experiment.create_experiment_kwargs."
        ),
        experiment_tags={str(k): str(v) for k, v in tags.items()},
        run_name=_optional_str(run, "name", "tracking.run."),
        fixed_run_id=_optional_str(run, "id", "tracking.run."),
        disabled_pipelines=tuple(str(p) for p in pipelines),
        tracking_uri_configured=uri is not None,
    )


def _section(parent: Mapping[str, Any], key: str, path: str = "") -> Mapping[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"mlflow.yml: {path}{key}: a mapping, got {value!r}")
    return value


def _optional_str(parent: Mapping[str, Any], key: str, path: str) -> str | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"mlflow.yml: {path}{key}: a string, got {value!r}")
    return value


def _register_kedro_mlflow_resolver() -> None:
    """``${km.random_name:}`` (allowed in mlflow.yml) works even when kedro-mlflow's hook, which
    registers it, did not run in this session."""
    from omegaconf import OmegaConf

    if OmegaConf.has_resolver(_RANDOM_NAME_RESOLVER):
        return
    from kedro_mlflow.config.resolvers import resolve_random_name

    register = getattr(OmegaConf, "register_resolver", None) or OmegaConf.register_new_resolver
    register(_RANDOM_NAME_RESOLVER, resolve_random_name, use_cache=True)
