"""A test auth backend for Airflow 2.10's REST API: ``Authorization: Bearer <token>``.

Airflow 2 issues no API tokens itself; managed services (Cloud Composer, MWAA) check a bearer
token in front of it. This backend stands in for them in the end-to-end tests only: the token
is ``$KAK8S_E2E_BEARER_TOKEN`` and it logs the request in as ``$KAK8S_E2E_BEARER_USER``. It
runs inside the Airflow 2.10 webserver (its own virtualenv), never in the plugin.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from functools import wraps
from typing import Any

CLIENT_AUTH = None


def init_app(_: Any) -> None:
    """Nothing to set up."""


def requires_authentication(function: Callable[..., Any]) -> Callable[..., Any]:
    from airflow.www.extensions.init_auth_manager import get_auth_manager
    from flask import Response, request
    from flask_login import login_user

    @wraps(function)
    def decorated(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        token = os.environ.get("KAK8S_E2E_BEARER_TOKEN", "")
        sent = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
        if token and sent and hmac.compare_digest(sent, token):
            manager = get_auth_manager().security_manager
            user = manager.find_user(username=os.environ["KAK8S_E2E_BEARER_USER"])
            if user is not None:
                login_user(user, remember=False)
                return function(*args, **kwargs)
        return Response("Unauthorized", 401, {"WWW-Authenticate": "Bearer"})

    return decorated
