"""Exception handlers: every error leaves as {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.db import is_database_locked
from app.errors import AppError, describe_validation_errors
from app.schemas.common import ErrorBody
from app.settings import Settings

logger = logging.getLogger(__name__)


def error_response(
    status_code: int,
    code: str,
    message: str,
    fields: list[dict[str, str]] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The one error body shape."""
    body: dict[str, object] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return JSONResponse({"error": body}, status_code=status_code, headers=headers)


def unavailable_response(retry_after_s: int, message: str) -> JSONResponse:
    """503 with Retry-After: a transient condition the client should retry after a pause."""
    return error_response(503, "unavailable", message, headers={"Retry-After": str(retry_after_s)})


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers=exc.headers)


async def _request_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        detail = errors[0].get("ctx", {}).get("error", "")
        return error_response(400, "invalid_json", f"Request body is not valid JSON: {detail}")
    # A header read by a dependency that several others share is reported once per use.
    fields = list(
        {(f["field"], f["message"]): f for f in describe_validation_errors(errors)}.values()
    )
    message = "; ".join(f"{field['field']}: {field['message']}" for field in fields)
    return error_response(422, "validation_error", message, fields)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        exc.status_code, "http_error"
    )
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


def _allowed_methods(request: Request) -> str:
    # RFC 9110: Allow lists every method of the resource. Starlette names only those of the
    # first route that matched the path, and /v1/jobs has a GET route and a POST route; the
    # OpenAPI knows them all. Every path parameter is an id (routes declare them `:int`).
    path = request.url.path
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[0-9]+", re.escape(template)), path):
            methods |= {method.upper() for method in operations}
    return ", ".join(sorted(methods))


def _constraint_named(exc: IntegrityError) -> str:
    diag = getattr(exc.orig, "diag", None)  # psycopg names the constraint
    name = getattr(diag, "constraint_name", None)
    return str(name) if name else str(exc.orig).splitlines()[0]


async def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IntegrityError)
    # Constraint checks mirror schema validation, so reaching here means a race (two
    # writers, one external_id): a real conflict, named so the client can tell which.
    constraint = _constraint_named(exc)
    logger.warning("integrity error on %s", constraint)
    return error_response(409, "conflict", f"the write conflicts with stored data: {constraint}")


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OperationalError | SQLAlchemyTimeoutError)
    # The database is down, frozen, out of connections or (SQLite) its write lock stayed
    # taken past every wait: all transient, none the client's fault.
    reason = (
        "no database connection free"
        if isinstance(exc, SQLAlchemyTimeoutError)
        else ("database write lock busy" if is_database_locked(exc) else "database unavailable")
    )
    logger.warning("%s: %s", reason, str(exc).splitlines()[0] if str(exc) else type(exc))
    settings: Settings = request.app.state.settings
    return unavailable_response(settings.retry_after_s, f"{reason}; retry later")


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "internal error; it has been logged")


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception through the one error shape."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(SQLAlchemyTimeoutError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)


_ERROR_DESCRIPTIONS = {
    400: "The request cannot be read: malformed or too deeply nested JSON.",
    401: "No valid API key: `Authorization: Bearer <key>` is missing, unknown or revoked.",
    403: "The key's role may not do this, or only an admin key may name `X-Tenant`.",
    404: "No such record for this tenant.",
    408: "The request body did not arrive in time.",
    409: "The write conflicts with stored data or the record's state; the message says which.",
    413: "The request body exceeds the size limit.",
    422: "A field breaks a rule; `fields` names each one.",
    503: "The database is unavailable; retry after `Retry-After` seconds.",
}


def _statuses_of(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    statuses = [400, 422, 503]
    if "{" in path:
        statuses.append(404)
    if method in ("post", "put", "patch", "delete"):
        statuses.append(409)
    if "requestBody" in operation:
        statuses += [408, 413]
    if operation.get("security"):
        statuses += [401, 403]
    return sorted(statuses)


def document_error_responses(openapi: dict[str, Any]) -> dict[str, Any]:
    """Add to every operation each error status it can answer, all with the one error shape."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    body_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(body_schema.pop("$defs", {}))
    schemas["ErrorBody"] = body_schema
    # FastAPI's own 422 shape is never sent: every 422 has the one error shape.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    reference = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in openapi.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _statuses_of(path, method, operation):
                response: dict[str, Any] = {
                    "description": responses.get(str(status), {}).get("description")
                    or _ERROR_DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": reference}},
                }
                if status == 503:
                    response["headers"] = {
                        "Retry-After": {
                            "description": "Seconds to wait before retrying.",
                            "schema": {"type": "integer"},
                        }
                    }
                responses[str(status)] = response
    return openapi


def install_openapi_steps(app: FastAPI, *steps: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Pass the app's generated OpenAPI schema through each step, once, when first asked."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for step in steps:
                schema = step(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
