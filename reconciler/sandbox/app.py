"""The sandbox application: every route of SPEC §2 over the store, answered in the envelope.

Authentication, faults and the request log live in the gateway around it (``gateway.py``).
Routes are ``async`` and call SQLite directly: a statement takes well under a millisecond,
less than a hop to a worker thread would cost (latency faults still never block the loop).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp

from reconciler import __version__
from reconciler.assumptions import OAUTH_TOKEN_HEADER
from reconciler.sandbox.auth import (
    DEFAULT_TOKEN_TTL,
    DEMO_CREDENTIALS,
    Authenticator,
    Credentials,
    Principal,
)
from reconciler.sandbox.dialects import (
    DEFAULT,
    Dialect,
    element_model,
    listing,
    outgoing,
    parse_dialects,
)
from reconciler.sandbox.envelope import (
    INTERNAL_ERROR,
    INVALID_INPUT,
    ApiFailure,
    dumps,
    failure_body,
    success,
)
from reconciler.sandbox.faults import TOKEN_PATH, FaultConfig
from reconciler.sandbox.gateway import Gateway
from reconciler.sandbox.models import (
    MAX_ELEMENTS,
    MAX_ID,
    ChannelsEnvelope,
    CommunicationEnvelope,
    CommunicationsEnvelope,
    ErrorEnvelope,
    ErrorJSON,
    TargetGroupEnvelope,
    TargetGroupsEnvelope,
    TargetsEnvelope,
    TokenEnvelope,
    TokenRequest,
    UpsertElement,
)
from reconciler.sandbox.store import DEFAULT_DB_PATH, Store, open_store

GROUPS = "/v3/targetGroups"
CHANNELS = f"{GROUPS}/channels"
GROUP = f"{GROUPS}/{{targetGroupId}}"
TARGETS = f"{GROUP}/targets"
COMMUNICATIONS = f"{TARGETS}/{{targetId}}/communications"
UPSERT = f"{COMMUNICATIONS}/upsert"
MAX_BODY_BYTES = 8 * 1024 * 1024

GroupId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="Target group id")]
TargetId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="Target id")]
_UPSERT_BODY = Body(min_length=1, max_length=MAX_ELEMENTS, description="Communications to write")
UpsertBody = Annotated[list[UpsertElement], _UPSERT_BODY]


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorEnvelope, "description": description}


_COMMON: dict[int | str, dict[str, Any]] = {
    400: _error("Invalid path, query or body; one error per problem"),
    401: _error("Missing, wrong or expired credentials"),
    429: _error("Throttled; see Retry-After (seconds)"),
    500: _error("Server failure"),
    503: {
        "description": "The CDN in front of the API failed; the body is an HTML page",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _error("Unknown target group or target")}
_WRITE: dict[int | str, dict[str, Any]] = {
    403: _error("The credentials may not write"),
    413: {
        "description": "The body is larger than 8 MiB (refused before it is read)",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    415: _error("Content-Type is not application/json"),
}


@dataclass(frozen=True)
class SandboxContext:
    """What the routes need, kept on ``app.state.sandbox``."""

    store: Store
    authenticator: Authenticator
    faults: FaultConfig
    dialect: Dialect = DEFAULT


router = APIRouter()


@router.post(
    TOKEN_PATH,
    summary="Generate an OAuth access token",
    responses={200: {"model": TokenEnvelope}, **_COMMON, 415: _WRITE[415]},
)
async def generate_token(request: Request, body: TokenRequest) -> Response:
    return _ok(request, _context(request).authenticator.issue_token(body))


@router.get(
    GROUPS,
    summary="List target groups",
    responses={200: {"model": TargetGroupsEnvelope}, **_COMMON},
)
async def list_groups(
    request: Request, includeOnlyActive: bool = False, includePeriods: bool = False
) -> Response:
    # includePeriods is accepted as Capillary documents it; the sandbox has no periods to add.
    return _ok(request, _context(request).store.groups(only_active=includeOnlyActive))


# Declared before GROUP, or "channels" would be read as a target group id.
@router.get(
    CHANNELS, summary="List channels", responses={200: {"model": ChannelsEnvelope}, **_COMMON}
)
async def list_channels(request: Request) -> Response:
    return _ok(request, _context(request).store.channels())


@router.get(
    GROUP,
    summary="Get one target group",
    responses={200: {"model": TargetGroupEnvelope}, **_COMMON, **_NOT_FOUND},
)
async def get_group(request: Request, targetGroupId: GroupId) -> Response:
    return _ok(request, _context(request).store.group(targetGroupId))


@router.get(
    TARGETS,
    summary="List the targets of a target group",
    responses={200: {"model": TargetsEnvelope}, **_COMMON, **_NOT_FOUND},
)
async def list_targets(request: Request, targetGroupId: GroupId) -> Response:
    return _ok(request, _context(request).store.targets(targetGroupId))


@router.get(
    COMMUNICATIONS,
    summary="List a target's communications",
    responses={200: {"model": CommunicationsEnvelope}, **_COMMON, **_NOT_FOUND},
)
async def list_communications(
    request: Request, targetGroupId: GroupId, targetId: TargetId
) -> Response:
    context = _context(request)
    found = context.store.stored_communications(
        targetGroupId, targetId, lag_ms=context.faults.read_lag_ms
    )
    # The GET carries a "configs" array that the upsert does not (capillary-api.md, E2).
    return _ok(request, listing(context.dialect, found))


_UPSERT_ROUTE: dict[str, Any] = {
    "methods": ["POST"],
    "summary": "Insert or update a target's communications",
    "description": (
        "An element with `id` updates that communication of this target; one without `id` "
        "inserts a new one. All elements are written in one transaction, or none is. The "
        "answer holds the stored communications in the order sent."
    ),
    "responses": {200: {"model": CommunicationsEnvelope}, **_COMMON, **_NOT_FOUND, **_WRITE},
}


# Registered by ``create_app`` (last, as it always was): a dialect may change its body.
async def upsert_communications(
    request: Request, targetGroupId: GroupId, targetId: TargetId, body: UpsertBody
) -> Response:
    return _upsert(request, targetGroupId, targetId, body)


def _upsert(
    request: Request, targetGroupId: int, targetId: int, body: UpsertElement | list[UpsertElement]
) -> Response:
    principal = request.state.principal
    assert isinstance(principal, Principal)  # the gateway admits no write without one
    context = _context(request)
    one = isinstance(body, UpsertElement)  # object-body: a single object in, one out
    elements = [body] if isinstance(body, UpsertElement) else body
    elements = elements[:1] if context.dialect.first_element else elements  # rest dropped
    stored = context.store.upsert(
        targetGroupId, targetId, elements, principal.actor, dialect=context.dialect
    )
    request.state.committed = True
    return _ok(request, stored[0] if one else stored)


def _add_upsert_route(app: FastAPI, dialect: Dialect) -> None:
    """The upsert route, with the body ``dialect`` accepts (the default: today's array)."""
    if not (dialect.object_body or dialect.drop_server_fields or dialect.string_ids):
        app.add_api_route(UPSERT, upsert_communications, **_UPSERT_ROUTE)
        return
    element = element_model(dialect)
    body: object = Annotated[list[element], _UPSERT_BODY]  # type: ignore[valid-type]
    route = dict(_UPSERT_ROUTE)
    if dialect.object_body:
        body = Annotated[element, Body(description="The communication to write")]
        route["responses"] = {**route["responses"], 200: {"model": CommunicationEnvelope}}
        route["description"] = (
            "The body is one communication, not an array; the answer is it as stored. "
            "With `id` it updates that communication of this target; without, it inserts."
        )

    async def endpoint(
        request: Request, targetGroupId: int, targetId: int, body: UpsertElement
    ) -> Response:
        return _upsert(request, targetGroupId, targetId, body)

    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=kind)
            for name, kind in (
                ("request", Request),
                ("targetGroupId", GroupId),
                ("targetId", TargetId),
                ("body", body),
            )
        ],
        return_annotation=Response,
    )
    app.add_api_route(UPSERT, endpoint, **route)


class SandboxApp(FastAPI):
    """FastAPI with the gateway outside its whole middleware stack, and a tidied OpenAPI."""

    def __init__(self, gateway: Mapping[str, Any], **settings: Any) -> None:
        self._gateway_settings = gateway
        super().__init__(**settings)

    def build_middleware_stack(self) -> ASGIApp:
        return Gateway(super().build_middleware_stack(), **self._gateway_settings)

    def openapi(self) -> dict[str, Any]:
        schema = super().openapi()
        components = schema.setdefault("components", {})
        components["securitySchemes"] = {
            "basicAuth": {
                "type": "http",
                "scheme": "basic",
                "description": "base64(username + ':' + md5_hex(password))",
            },
            "oauthToken": {
                "type": "apiKey",
                "in": "header",
                "name": OAUTH_TOKEN_HEADER,
                "description": f"accessToken from POST {TOKEN_PATH}",
            },
        }
        # Invalid input answers 400 with the envelope, never FastAPI's 422.
        for name in ("HTTPValidationError", "ValidationError"):
            components.get("schemas", {}).pop(name, None)
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
                if path != TOKEN_PATH:
                    operation["security"] = [{"basicAuth": []}, {"oauthToken": []}]
        return schema


def create_app(
    db_path: Path | str = DEFAULT_DB_PATH,
    faults: FaultConfig | None = None,
    token_ttl: int = DEFAULT_TOKEN_TTL,
    rate_limit_per_minute: int | None = None,
    credentials: Credentials | None = None,
    dialects: Sequence[str] | Dialect = (),
) -> FastAPI:
    """The sandbox over the database at ``db_path`` (created empty if missing; see ``seed``),
    speaking ``dialects`` (see ``dialects.DIALECTS``; none: the default sandbox)."""
    dialect = parse_dialects(dialects)
    store = open_store(db_path)
    faults = faults or FaultConfig()
    authenticator = Authenticator(store, credentials or DEMO_CREDENTIALS, token_ttl)
    app = SandboxApp(
        gateway={
            "store": store,
            "authenticator": authenticator,
            "faults": faults,
            "rate_limit_per_minute": rate_limit_per_minute,
        },
        title="Capillary v3 target communications (reconciler sandbox)",
        version=__version__,
        description="A local emulator of the Capillary v3 target-communications API."
        + (f" Dialects: {dialect}." if dialect.names else ""),
        max_body_size=MAX_BODY_BYTES,
        redirect_slashes=False,  # a trailing slash is a 404, never a redirect to follow
        telemetry={"tracing": False, "metrics": False, "logs": False, "auto_configure": False},
    )
    app.state.sandbox = SandboxContext(store, authenticator, faults, dialect)
    app.include_router(router)
    _add_upsert_route(app, dialect)
    app.add_exception_handler(ApiFailure, _on_api_failure)
    app.add_exception_handler(RequestValidationError, _on_invalid_request)
    app.add_exception_handler(HTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)
    return app


def _context(request: Request) -> SandboxContext:
    context = request.app.state.sandbox
    assert isinstance(context, SandboxContext)
    return context


def _ok(request: Request, data: object) -> Response:
    data = outgoing(_context(request).dialect, data)
    return Response(dumps(success(data)), media_type="application/json")


def _failed(status: int, errors: list[ErrorJSON], headers: Mapping[str, str] | None) -> Response:
    return Response(dumps(failure_body(errors)), status, headers, media_type="application/json")


async def _on_api_failure(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiFailure)
    return _failed(exc.status, exc.errors, exc.headers)


async def _on_invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    one = _context(request).dialect.object_body
    messages = list(dict.fromkeys(_describe(error, object_body=one) for error in exc.errors()))
    return _failed(400, [{"code": INVALID_INPUT, "message": m} for m in messages], None)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    return _failed(exc.status_code, [{"code": exc.status_code, "message": message}], exc.headers)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    return _failed(500, [{"code": INTERNAL_ERROR, "message": "internal server error"}], None)


def _describe(error: Mapping[str, Any], *, object_body: bool = False) -> str:
    """One pydantic error as one line naming where the problem is: ``body[0].channelId: …``."""
    loc: Sequence[str | int] = error.get("loc", ())
    kind = error.get("type")
    if kind == "json_invalid":
        return "the body is not valid JSON"
    if tuple(loc) == ("body",):
        if kind == "too_short":
            return "the body must hold at least one communication"
        if kind == "too_long":
            return f"the body may hold at most {MAX_ELEMENTS} communications"
        if object_body and kind in ("missing", "model_type", "model_attributes_type"):
            return "the body must be one JSON object (a communication), not an array"
        if kind in ("list_type", "missing"):
            return "the body must be a JSON array of communications"
        if kind in ("model_type", "model_attributes_type", "dict_type"):
            return "the body must be a JSON object"
    where = _where(loc)
    if kind == "missing":
        return f"{where}: field required"
    if kind == "extra_forbidden":
        return f"{where}: unknown field"
    return f"{where}: {error.get('msg', 'invalid value')}"


def _where(loc: Sequence[str | int]) -> str:
    if not loc:
        return "request"
    head, *rest = loc
    if head in ("path", "query", "header") and rest:
        return f"{head} parameter {rest[0]}"
    text = str(head)
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text
