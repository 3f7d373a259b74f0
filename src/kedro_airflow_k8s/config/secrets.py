"""The Kubernetes Secrets exposed to every node pod (``run_config.secrets``).

Defined when a config first gives a secret (:func:`.base.defined_on_use`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictStr, model_validator

from kedro_airflow_k8s.config.base import DNS_SUBDOMAIN, ENV_NAME, OnUseModel


class SecretConfig(OnUseModel):
    """A Kubernetes Secret exposed to every node pod."""

    secret: StrictStr = Field(description="Name of the Kubernetes Secret object.")
    deploy_type: Literal["env", "volume"] = Field(
        "env", description="`env` (environment variables) or `volume` (files)."
    )
    deploy_target: StrictStr | None = Field(
        None,
        description="Environment variable name (`env` with `key`) or mount path (`volume`). "
        "With `env` and no `key`, every key of the Secret becomes a variable.",
    )
    key: StrictStr | None = Field(None, description="A single key of the Secret to expose.")

    @model_validator(mode="after")
    def _targets(self) -> SecretConfig:
        if not DNS_SUBDOMAIN.match(self.secret):
            raise ValueError(f"secret name {self.secret!r} is not a valid Kubernetes name")
        if self.deploy_type == "volume" and not (self.deploy_target or "").startswith("/"):
            raise ValueError("a volume secret needs deploy_target: an absolute mount path")
        if self.deploy_type == "env":
            if self.key and not self.deploy_target:
                raise ValueError("an env secret with a key needs deploy_target: the variable name")
            if self.deploy_target and not ENV_NAME.match(self.deploy_target):
                raise ValueError(f"{self.deploy_target!r} is not a valid environment variable name")
            if self.deploy_target and not self.key:
                raise ValueError("deploy_target needs key: which key of the Secret to expose")
        return self
