"""The one error path: domain errors subclass AppError; one handler renders them all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class AppError(Exception):
    """An error a client can act on: a message, an HTTP status and a stable code."""

    status_code = 400
    code = "bad_request"
    headers: dict[str, str] | None = None

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class BadRequest(AppError):
    """The request cannot be read (e.g. malformed JSON)."""

    status_code = 400
    code = "bad_request"


class Unauthorized(AppError):
    """No valid API key: the client must authenticate (Bearer)."""

    status_code = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError):
    """The key is valid but its role may not do this."""

    status_code = 403
    code = "forbidden"


class NotFoundError(AppError):
    """The addressed record does not exist (for this tenant)."""

    status_code = 404
    code = "not_found"


class ConflictError(AppError):
    """The request conflicts with the current state (e.g. a duplicate external_id)."""

    status_code = 409
    code = "conflict"


class ValidationFailed(AppError):
    """The input is well-formed JSON but breaks a rule; details name the fields."""

    status_code = 422
    code = "validation_error"


def printable(text: str) -> str:
    """Text safe to put in a JSON response or a log line: lone surrogates become escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def describe_validation_errors(
    errors: Sequence[Mapping[str, Any]], *, strip: tuple[str, ...] = ("body",)
) -> list[dict[str, str]]:
    """Turn pydantic error entries into [{"field": "skills[3]", "message": ...}] for clients."""
    described = []
    for error in errors:
        location = [part for part in error.get("loc", ()) if part not in strip]
        field = ""
        for part in location:
            field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        described.append({"field": printable(field or "body"), "message": printable(message)})
    return described
