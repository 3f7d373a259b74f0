"""What every config model shares: the base model, the limits of what Airflow, Kubernetes and
Python hold, and the checks of Kubernetes names, labels and quantities.

The models themselves live where they are used: the core keys in :mod:`.models`,
:mod:`.kubernetes`, :mod:`.scheduling` and :mod:`.secrets`, each optional feature's keys in its
home under ``features/``.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import re
import types
import typing
from datetime import date
from typing import Annotated, Any, ClassVar, Union

from pydantic import BaseModel, ConfigDict, StrictFloat, StrictInt, StrictStr, TypeAdapter
from pydantic_core import core_schema

from kedro_airflow_k8s.names import AIRFLOW_ID_CHARS, FULL_TASK_ID_MAX

# --- limits of what Airflow, Kubernetes and Python hold ----------------------------------------

#: Kubernetes int32 fields (fsGroup) and Airflow's try counters are signed 32-bit integers.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
#: Durations: seconds in a signed 32-bit integer (about 68 years), what C ints take.
MAX_SECONDS = INT32_MAX
MAX_MINUTES = MAX_SECONDS // 60
#: Dates from which every date Airflow derives (the first run, a retry, a sensor's look-back,
#: each at most MAX_SECONDS away) stays within the years 1 to 9999 that Python holds.
EARLIEST_START = date(100, 1, 1)
LATEST_START = date(9899, 12, 31)
DEFAULT_START_DATE = "20240101"


def yyyymmdd(day: date) -> str:
    """``day`` as YYYYMMDD, four digits of year always (strftime drops zeros on some systems)."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


#: The longest DAG or task id Airflow takes.
AIRFLOW_ID_MAX = FULL_TASK_ID_MAX

# --- value checks shared by several models ------------------------------------------------------

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
QUANTITY = re.compile(r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[munkMGTPE]|[KMGTPE]i)?$")
_RESOURCE_NAME = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$")
AIRFLOW_ID = re.compile(f"^[{AIRFLOW_ID_CHARS}]+$")
TAG_TEXT = AIRFLOW_ID  # a DAG tag takes the characters of an Airflow id
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
YYYYMMDD = re.compile(r"^[0-9]{8}\Z")


def check_label_key(key: str) -> str:
    """A Kubernetes label/annotation key: optional DNS-subdomain prefix and a name <= 63 chars."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix)):
        raise ValueError(f"{key!r} is not a valid Kubernetes key: bad prefix {prefix!r}")
    if not name or len(name) > 63 or not LABEL_NAME.match(name):
        raise ValueError(
            f"{key!r} is not a valid Kubernetes key: the name part must be 1-63 letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit"
        )
    return key


def check_object_name(name: str, kind: str) -> str:
    """A Kubernetes object name (a DNS-1123 subdomain: lowercase letters, digits, '-' and '.')."""
    if len(name) > 253 or not DNS_SUBDOMAIN.match(name):
        raise ValueError(
            f"{name!r} is not a valid Kubernetes {kind} name: at most 253 lowercase letters, "
            "digits, '-' or '.', starting and ending with a letter or digit"
        )
    return name


def check_image(value: str) -> str:
    if not _IMAGE.match(value):
        raise ValueError(f"{value!r} is not a valid image reference")
    return value


def check_label_value(value: str) -> str:
    if value and (len(value) > 63 or not LABEL_NAME.match(value)):
        raise ValueError(
            f"{value!r} is not a valid Kubernetes label value: at most 63 letters, digits, '-', "
            "'_' or '.', starting and ending with a letter or digit"
        )
    return value


def check_quantity(value: str | int | float) -> str:
    text = str(value)
    if isinstance(value, bool) or not QUANTITY.match(text):
        raise ValueError(
            f"{value!r} is not a Kubernetes quantity (examples: 500m, 2, 1.5, 512Mi, 4Gi)"
        )
    return text


def check_labels(values: dict[str, str]) -> dict[str, str]:
    for key, value in values.items():
        check_label_key(key)
        check_label_value(value)
    return values


def check_annotations(values: dict[str, str]) -> dict[str, str]:
    for key in values:
        check_label_key(key)
    return values


_STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def _check_resource_name(name: str) -> None:
    if "/" in name and _RESOURCE_NAME.match(name):
        return  # an extended resource such as nvidia.com/gpu
    if name in _STANDARD_RESOURCES or name.startswith("hugepages-"):
        return
    close = difflib.get_close_matches(name, _STANDARD_RESOURCES, n=1)
    if "gpu" in name.lower():  # difflib would say 'cpu': wrong advice for a GPU
        close = ["nvidia.com/gpu"]
    hint = (
        f"did you mean {close[0]!r}?"
        if close
        else "use cpu, memory, ephemeral-storage, hugepages-<size> or a prefixed name "
        "such as nvidia.com/gpu"
    )
    raise ValueError(f"{name!r} is not a Kubernetes resource name; {hint}")


def check_quantities(values: dict[str, str | int | float]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, quantity in values.items():
        _check_resource_name(name)
        out[name] = check_quantity(quantity)
    return out


def empty_list() -> list[Any]:
    """``default_factory`` of the list fields: a new empty list, as ``list`` gives. Pydantic reads
    the signature of a field's factory when it builds the model; for ``list`` that means parsing
    the builtin's text signature (tens of microseconds a field), for a function it does not."""
    return []


class ConfigModel(BaseModel):
    """Base of every section: unknown keys are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class OnUseModel(ConfigModel):
    """Base of the models of optional keys (a feature's section, a profile's affinity): such a
    model's class is defined when a config first gives a value of it (see
    :func:`defined_on_use`), and pydantic builds its validator then, not at import
    (:data:`BUILT_ON_USE` marks the fields that hold them). A default of such a field is None,
    an empty list or mapping, or made by ``model_construct``, which builds nothing."""

    model_config = ConfigDict(defer_build=True)


class StandIn:
    """In a field's annotation, the stand-in of a model class defined on first use
    (:func:`defined_on_use`); :func:`declared_type` gives the annotation with the model."""

    model: ClassVar[tuple[str, str]]  # (module, class name)

    @classmethod
    def defined(cls) -> Any:
        module, name = cls.model
        return getattr(importlib.import_module(module), name)


def defined_on_use(module: str, name: str) -> Any:
    """A stand-in for the model class ``name`` of ``module`` in the annotation of a field marked
    :data:`BUILT_ON_USE`: defining a model class costs as much as importing a module or two, so
    the models of the keys a config does not give are never defined. The module is imported when
    the field is given a value, its JSON schema is asked for, or :func:`declared_type` is."""
    return type(name, (StandIn,), {"model": (module, name), "__module__": __name__})


def declared_type(annotation: Any) -> Any:
    """``annotation`` with each stand-in of :func:`defined_on_use` replaced by its model class:
    the type a field declares, for whoever walks the models (key suggestions, the config
    reference, the JSON schema)."""
    if isinstance(annotation, type) and issubclass(annotation, StandIn):
        return annotation.defined()
    args = typing.get_args(annotation)
    if not args:
        return annotation
    declared = tuple(declared_type(arg) for arg in args)
    if all(new is old for new, old in zip(declared, args, strict=True)):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        with_metadata = (declared[0], *annotation.__metadata__)
        return Annotated[with_metadata]
    if origin in (Union, types.UnionType):
        return Union[declared]  # noqa: UP007  # a union of the types given
    return origin[declared]


class _BuiltOnUse:
    """Field metadata: the field's values are validated as its declared type by a validator
    built when the first value is given, so a config without the key never defines or builds
    the models behind it. The errors are pydantic's own, under the field's key path, alongside
    the other fields' errors (pydantic takes a ValidationError raised by a validator as the
    value's). The JSON schema is the declared type's, built when asked for.

    The validator is a ``TypeAdapter`` of the declared type: it builds the models' schemas for
    itself without marking the model classes built, so a model used directly later (its own
    ``model_dump``) builds its schema again, once."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        @functools.cache
        def adapter() -> TypeAdapter[Any]:
            return TypeAdapter(declared_type(source))

        def validate(value: Any) -> Any:
            return adapter().validate_python(value)

        def json_schema(_schema: Any, json_handler: Any) -> Any:
            return json_handler(adapter().core_schema)

        return core_schema.no_info_plain_validator_function(
            validate, metadata={"pydantic_js_functions": [json_schema]}
        )


#: ``Annotated[SparkConfig | None, BUILT_ON_USE]``: see :class:`_BuiltOnUse`.
BUILT_ON_USE = _BuiltOnUse()


# StrictFloat: a lax float would turn `cpu: true` into the quantity "1.0".
Quantities = dict[StrictStr, StrictStr | StrictInt | StrictFloat]
