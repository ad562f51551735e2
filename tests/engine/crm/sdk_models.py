"""Request bodies checked against HubSpot's official Python SDK (``hubspot-api-client``).

The SDK's request models are generated from HubSpot's OpenAPI documents. :func:`check_body` finds
the model for a request (by method and path), then builds it from the JSON body field by field
with client-side validation on: a field the model does not have, a value of the wrong JSON type
(a number where HubSpot wants a string), a missing required field or a value outside an enum
(association categories, filter operators, property types) is a :class:`NotSdkShaped` error
naming where in the body it is.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

OBJECT_PACKAGES = {
    "contacts": "hubspot.crm.contacts",
    "companies": "hubspot.crm.companies",
    "deals": "hubspot.crm.deals",
    "tickets": "hubspot.crm.tickets",
    "notes": "hubspot.crm.objects.notes",
    "calls": "hubspot.crm.objects.calls",
    "tasks": "hubspot.crm.objects.tasks",
}
PROPERTIES = "hubspot.crm.properties"
ASSOCIATIONS = "hubspot.crm.associations.v4"
_OBJECT = r"^/crm/v3/objects/(?P<type>\w+)"
_BATCH = "BatchInputSimplePublicObject"
ROUTES: tuple[tuple[str, re.Pattern[str], str | None, str], ...] = tuple(
    (method, re.compile(pattern), package, model)
    for method, pattern, package, model in (
        ("POST", _OBJECT + r"$", None, "SimplePublicObjectInputForCreate"),
        ("PATCH", _OBJECT + r"/[^/]+$", None, "SimplePublicObjectInput"),
        ("POST", _OBJECT + r"/batch/create$", None, _BATCH + "BatchInputForCreate"),
        ("POST", _OBJECT + r"/batch/upsert$", None, _BATCH + "BatchInputUpsert"),
        ("POST", _OBJECT + r"/batch/update$", None, _BATCH + "BatchInput"),
        ("POST", _OBJECT + r"/batch/read$", None, "BatchReadInputSimplePublicObjectId"),
        ("POST", _OBJECT + r"/batch/archive$", None, _BATCH + "Id"),
        ("POST", _OBJECT + r"/search$", None, "PublicObjectSearchRequest"),
        ("POST", r"^/crm/v3/properties/\w+$", PROPERTIES, "PropertyCreate"),
        ("POST", r"^/crm/v3/properties/\w+/groups$", PROPERTIES, "PropertyGroupCreate"),
        (
            "POST",
            r"^/crm/v4/associations/\w+/\w+/batch/create$",
            ASSOCIATIONS,
            "BatchInputPublicAssociationMultiPost",
        ),
    )
)  # fmt: skip


class NotSdkShaped(AssertionError):
    """A body the official SDK's request model refuses."""


def model_for(method: str, path: str) -> tuple[str, str]:
    """The SDK package and model name a request's body must fit."""
    for route_method, pattern, package, model in ROUTES:
        match = pattern.match(path)
        if route_method == method and match:
            return package or OBJECT_PACKAGES[match.group("type")], model
    raise NotSdkShaped(f"{method} {path}: the SDK has no request model for this call")


def check_body(method: str, path: str, body: Any) -> Any:
    """Build the SDK model for the request from ``body``; returns it, or raises NotSdkShaped."""
    package, model = model_for(method, path)
    configuration = importlib.import_module(f"{package}.configuration").Configuration()
    configuration.client_side_validation = True
    builder = _Builder(importlib.import_module(f"{package}.models"), configuration)
    try:
        return builder.build(model, body, "body")
    except ValueError as exc:  # the generated setters' own checks (required, enums)
        raise NotSdkShaped(f"{method} {path}: {model}: {exc}") from None


class _Builder:
    def __init__(self, models: Any, configuration: Any) -> None:
        self._models = models
        self._configuration = configuration

    def build(self, type_name: str, value: Any, where: str) -> Any:
        if type_name.startswith("list["):
            if not isinstance(value, list):
                raise NotSdkShaped(f"{where}: expected a list, got {value!r}")
            inner = type_name[5:-1]
            return [self.build(inner, item, f"{where}[{i}]") for i, item in enumerate(value)]
        if type_name.startswith("dict("):
            raise NotSdkShaped(f"{where}: unexpected SDK type {type_name}")
        if type_name.startswith("dict["):
            if not isinstance(value, dict):
                raise NotSdkShaped(f"{where}: expected an object, got {value!r}")
            inner = type_name[5:-1].split(", ", 1)[1]
            return {k: self.build(inner, v, f"{where}.{k}") for k, v in value.items()}
        if type_name in _PRIMITIVES:
            if not _PRIMITIVES[type_name](value):
                raise NotSdkShaped(f"{where}: expected {type_name}, got {value!r}")
            return value
        return self._model(type_name, value, where)

    def _model(self, type_name: str, value: Any, where: str) -> Any:
        cls = getattr(self._models, type_name)
        if not isinstance(value, dict):
            raise NotSdkShaped(f"{where}: expected a {type_name} object, got {value!r}")
        names = {json_name: attr for attr, json_name in cls.attribute_map.items()}
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise NotSdkShaped(f"{where}: {type_name} has no field {', '.join(unknown)}")
        fields = {
            names[key]: self.build(cls.openapi_types[names[key]], item, f"{where}.{key}")
            for key, item in value.items()
        }
        try:
            return cls(**fields, local_vars_configuration=self._configuration)
        except ValueError as exc:
            raise NotSdkShaped(f"{where}: {type_name}: {exc}") from None


_PRIMITIVES: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "object": lambda v: True,
    "datetime": lambda v: isinstance(v, str),
    "date": lambda v: isinstance(v, str),
}
