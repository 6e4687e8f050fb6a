"""Exception handlers: every error leaves as {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import AppError, describe_validation_errors

logger = logging.getLogger(__name__)


def error_response(
    status_code: int,
    code: str,
    message: str,
    fields: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The one error body shape."""
    body: dict[str, object] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return JSONResponse({"error": body}, status_code=status_code, headers=headers)


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


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


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        exc.status_code, "http_error"
    )
    return error_response(exc.status_code, code, str(exc.detail))


async def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    # Constraint checks mirror schema validation, so reaching here means a race (two
    # writers, one external_id): the client can retry.
    logger.warning("integrity error: %s", exc)
    return error_response(409, "conflict", "the write conflicts with stored data; retry")


async def _operational_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OperationalError)
    # SQLite answers a write that lost a race for the single writer lock with "database is
    # locked" at once (no busy wait is possible once the transaction has read): a conflict.
    if "database is locked" in str(exc.orig):
        return error_response(409, "conflict", "a concurrent write won; retry the request")
    return await _unexpected_error(request, exc)


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "internal error; it has been logged")


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception through the one error shape."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _operational_error)
    app.add_exception_handler(Exception, _unexpected_error)
