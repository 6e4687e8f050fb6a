"""Exception handlers: every error leaves as {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.db import is_database_locked
from app.errors import AppError, describe_validation_errors
from app.settings import Settings

logger = logging.getLogger(__name__)


def error_response(
    status_code: int,
    code: str,
    message: str,
    fields: list[dict[str, str]] | None = None,
    *,
    headers: dict[str, str] | None = None,
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
    return error_response(exc.status_code, exc.code, exc.message, exc.details)


async def _request_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        detail = errors[0].get("ctx", {}).get("error", "")
        return error_response(400, "invalid_json", f"Request body is not valid JSON: {detail}")
    fields = describe_validation_errors(errors)
    message = "; ".join(f"{field['field']}: {field['message']}" for field in fields)
    return error_response(422, "validation_error", message, fields)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        exc.status_code, "http_error"
    )
    return error_response(exc.status_code, code, str(exc.detail))


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
