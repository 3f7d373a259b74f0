"""The answer shapes the client checks (``airflow_api.wire``) against the OpenAPI documents that
ship with Airflow itself: 3.x's REST API v2 (in the test virtualenv) and 2.10's REST API v1 (in
its own virtualenv, see tests/venvs.py). Every declared field must exist
there with a compatible type, and a field the client requires must be one Airflow promises."""

from __future__ import annotations

import subprocess
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from typing_extensions import TypedDict

from kedro_airflow_k8s.airflow_api import wire
from tests.venvs import AIRFLOW2

V2_SCHEMAS = {
    wire.Tag: "DagTagResponse",
    wire.Version: "VersionInfo",
    wire.LogRecord: "StructuredLogMessage",
    wire.DagV2: "DAGResponse",
    wire.DagDetailsV2: "DAGDetailsResponse",
    wire.DagCollectionV2: "DAGCollectionResponse",
    wire.DagRunV2: "DAGRunResponse",
    wire.DagRunCollectionV2: "DAGRunCollectionResponse",
    wire.TaskInstanceV2: "TaskInstanceResponse",
    wire.TaskInstanceCollectionV2: "TaskInstanceCollectionResponse",
    wire.ImportErrorV2: "ImportErrorResponse",
    wire.ImportErrorCollectionV2: "ImportErrorCollectionResponse",
    wire.LogV2: "TaskInstancesLogResponse",
}
V1_SCHEMAS = {
    wire.Tag: "Tag",
    wire.Version: "VersionInfo",
    wire.DagV1: "DAG",
    wire.DagDetailV1: "DAGDetail",
    wire.DagCollectionV1: "DAGCollection",
    wire.DagRunV1: "DAGRun",
    wire.DagRunCollectionV1: "DAGRunCollection",
    wire.TaskInstanceV1: "TaskInstance",
    wire.TaskInstanceCollectionV1: "TaskInstanceCollection",
    wire.ImportErrorV1: "ImportError",
    wire.ImportErrorCollectionV1: "ImportErrorCollection",
}
JSON_TYPES = {str: "string", int: "integer", bool: "boolean", list: "array", dict: "object"}


class Spec:
    """Components of an OpenAPI document, with ``$ref``, ``allOf``, ``anyOf`` and ``nullable``
    resolved into a field -> set of JSON types map."""

    def __init__(self, path: Path) -> None:
        self.schemas: dict[str, Any] = yaml.safe_load(path.read_text())["components"]["schemas"]

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = self.schemas[node["$ref"].rsplit("/", 1)[-1]]
        return node

    def fields(self, name: str) -> tuple[dict[str, set[str]], set[str]]:
        schema = self.resolve({"$ref": name})
        properties: dict[str, set[str]] = {}
        required = set(schema.get("required", []))
        for part in [schema, *schema.get("allOf", [])]:
            part = self.resolve(part)
            required |= set(part.get("required", []))
            for key, value in (part.get("properties") or {}).items():
                properties[key] = self.types(value)
        return properties, required

    def open(self, name: str) -> bool:
        """Whether the schema allows fields it does not list (``additionalProperties``)."""
        return self.resolve({"$ref": name}).get("additionalProperties") is True

    def types(self, node: dict[str, Any]) -> set[str]:
        node = self.resolve(node)
        found: set[str] = {"null"} if node.get("nullable") else set()
        if "anyOf" in node:
            for option in node["anyOf"]:
                found |= self.types(option)
        elif "type" in node:
            found.add(node["type"])
        else:
            found.add("object")
        return found


def _json_types(annotation: Any) -> set[str]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_json_types(arg) for arg in typing.get_args(annotation)))
    if annotation is type(None):
        return {"null"}
    if annotation is Any:
        return set()
    if typing.is_typeddict(annotation):
        return {"object"}
    return {JSON_TYPES[origin or annotation]}


def check(shape: Any, spec: Spec, name: str, *, required_checked: bool) -> list[str]:
    properties, required = spec.fields(name)
    hints = typing.get_type_hints(shape)
    problems = []
    for key, annotation in hints.items():
        if key not in properties:
            if not spec.open(name):
                problems.append(f"{shape.__name__}.{key}: not in {name}")
            continue
        ours, theirs = _json_types(annotation), properties[key]
        if ours and not (theirs - {"null"}) <= ours:
            problems.append(f"{shape.__name__}.{key}: {sorted(ours)} vs {sorted(theirs)}")
        if ours and "null" in theirs and "null" not in ours:
            problems.append(f"{shape.__name__}.{key}: Airflow may send null")
        if required_checked and key in shape.__required_keys__ and key not in required:
            problems.append(f"{shape.__name__}.{key}: required here, optional in {name}")
    return problems


def test_the_v2_shapes_match_airflow_3_s_openapi_document() -> None:
    import airflow

    root = Path(airflow.__file__).parent / "api_fastapi"
    spec = Spec(root / "core_api" / "openapi" / "v2-rest-api-generated.yaml")
    problems = [
        problem
        for shape, name in V2_SCHEMAS.items()
        for problem in check(shape, spec, name, required_checked=True)
    ]
    simple = root / "auth" / "managers" / "simple" / "openapi"
    auth = Spec(simple / "v2-simple-auth-manager-generated.yaml")
    problems += check(wire.TokenV2, auth, "LoginResponse", required_checked=True)
    assert problems == []


@pytest.mark.airflow2
@pytest.mark.venv(AIRFLOW2)
@pytest.mark.slow
def test_the_v1_shapes_match_airflow_2_10_s_openapi_document() -> None:
    from tests.venvs import AIRFLOW2, venv_python

    python = venv_python(AIRFLOW2)
    found = subprocess.run(
        [str(python), "-c", "import airflow, os; print(os.path.dirname(airflow.__file__))"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    spec = Spec(Path(found.stdout.strip()) / "api_connexion" / "openapi" / "v1.yaml")
    problems = [
        problem
        for shape, name in V1_SCHEMAS.items()
        for problem in check(shape, spec, name, required_checked=False)  # v1 marks none required
    ]
    assert problems == []


def test_the_checker_finds_a_drift() -> None:
    """The check above must be able to fail: a field Airflow does not have, a wrong type."""

    class Drifted(TypedDict):
        dag_id: int
        no_such_field: str

    import airflow

    spec = Spec(
        Path(airflow.__file__).parent
        / "api_fastapi"
        / "core_api"
        / "openapi"
        / "v2-rest-api-generated.yaml"
    )
    assert check(Drifted, spec, "DAGResponse", required_checked=True) == [
        "Drifted.dag_id: ['integer'] vs ['string']",
        "Drifted.no_such_field: not in DAGResponse",
    ]
