"""Declared routes: one table per module, from which both the router and OpenAPI are built.

A route declares its method, path, who may call it, and the pydantic models of its query, body and
responses. The wrapper authenticates the caller, validates the query and the body (a field error
becomes 422 naming the field), calls the handler with a :class:`Call`, and renders its
:class:`Reply` as JSON. Because the same declaration feeds ``/api/openapi.json``, the document
cannot drift from what the server does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from api.appkeys import KEY_EPOCH, STORE, USERS
from api.auth import authenticate
from api.errors import BadRequest, Forbidden, Unprocessable
from schema.users import User

Auth = Literal["public", "user", "boss"]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Reply:
    """What a handler returns: a status and a model (or nothing, for 204)."""

    status: int = 200
    model: BaseModel | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Call:
    """One validated request, as a handler sees it."""

    request: web.Request
    user: User | None
    body: BaseModel | None
    query: BaseModel | None

    def body_as(self, model: type[M]) -> M:
        if not isinstance(self.body, model):
            raise TypeError(f"this route's body is not a {model.__name__}")
        return self.body

    def query_as(self, model: type[M]) -> M:
        if not isinstance(self.query, model):
            raise TypeError(f"this route's query is not a {model.__name__}")
        return self.query

    @property
    def caller(self) -> User:
        """The authenticated user (routes declared ``user`` or ``boss`` always have one)."""
        if self.user is None:
            raise TypeError("this route does not authenticate its caller")
        return self.user

    def path_int(self, name: str) -> int:
        """A path parameter that must be a positive integer; 404 otherwise (no such resource)."""
        from api.errors import NotFound

        raw = self.request.match_info[name]
        if not raw.isdigit() or len(raw) > 18:
            raise NotFound(f"no resource with {name} {raw!r}")
        return int(raw)


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    handler: Handler
    summary: str
    auth: Auth
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    responses: Mapping[int, type[BaseModel] | None]
    tag: str
    errors: tuple[int, ...]


class Routes:
    """A table of declared operations (like aiohttp's RouteTableDef, with models attached)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.operations: list[Operation] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        responses: Mapping[int, type[BaseModel] | None],
        auth: Auth = "user",
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        errors: tuple[int, ...] = (),
    ) -> Callable[[Handler], Handler]:
        """Declare an operation; ``errors`` lists statuses beyond those implied by auth/body."""

        def add(handler: Handler) -> Handler:
            self.operations.append(
                Operation(
                    method, path, handler, summary, auth, body, query, responses, self.tag, errors
                )
            )
            return handler

        return add

    def install(self, app: web.Application) -> None:
        for operation in self.operations:
            app.router.add_route(operation.method, operation.path, _wrap(operation))


def json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        body=orjson.dumps(payload),
        content_type="application/json",
        headers=headers,
    )


def _wrap(operation: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        user = None
        if operation.auth != "public":
            user = await authenticate(
                request, request.app[STORE], request.app[USERS], request.app.get(KEY_EPOCH)
            )
            if operation.auth == "boss" and not user.is_boss:
                raise Forbidden("this endpoint is for users with the boss role")
        query = (
            _validate(operation.query, dict(request.query), "query") if operation.query else None
        )
        body = await _read_body(request, operation.body) if operation.body else None
        reply = await operation.handler(Call(request, user, body, query))
        if reply.model is None:
            return web.Response(status=reply.status, headers=reply.headers)
        payload = reply.model.model_dump(mode="json", by_alias=True)
        return json_response(reply.status, payload, reply.headers)

    return handle


async def _read_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    raw = await request.read()
    if not raw.strip():
        raise BadRequest("the request needs a JSON object body")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return _validate(model, data, "body")


def _validate(model: type[M], data: Mapping[str, Any], where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable(field_errors_message(exc, where), field_errors(exc, where)) from None


def _name_and_message(error: Any, where: str) -> tuple[str, str]:
    """The field an error is about and what is wrong with it.

    A validator that raised an error carrying its own dotted ``field`` (the model's
    DefinitionError: ``scenario_overrides.activities.note.cap``) names it more precisely than
    pydantic's location does.
    """
    cause = (error.get("ctx") or {}).get("error")
    named = getattr(cause, "field", None)
    if isinstance(named, str) and named:
        return named, str(getattr(cause, "reason", error["msg"]))
    name = ".".join(str(part) for part in error["loc"]) or where
    message = str(error["msg"]).removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        message = "is not a known field"
    return name, message


def field_errors(exc: ValidationError, where: str) -> list[dict[str, Any]]:
    """Pydantic errors as ``[{"field": "total_records", "in": "body", "message": …}]``."""
    details = []
    for error in exc.errors(include_url=False):
        name, message = _name_and_message(error, where)
        details.append({"field": name, "in": where, "message": message})
    return details


def field_errors_message(exc: ValidationError, where: str = "body") -> str:
    name, message = _name_and_message(exc.errors(include_url=False)[0], where)
    count = exc.error_count()
    more = f" (and {count - 1} more)" if count > 1 else ""
    return f"{name}: {message}{more}"


_PATH_PARAM = re.compile(r"{(\w+)}")


def path_parameters(path: str) -> list[str]:
    return _PATH_PARAM.findall(path)
