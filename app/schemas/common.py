"""Shared field types: NFKC-normalised, trimmed text with documented caps."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic.json_schema import SkipJsonSchema

from app.vocabulary import EDUCATION_ALIASES, EducationLevel

T = TypeVar("T")

MAX_TITLE_CHARS = 200
MAX_TEXT_CHARS = 20_000
MAX_ITEM_CHARS = 100
MAX_JOB_SKILLS = 100
# Job-board CVs carry ~30 keyword tags (median) and up to ~310; 400 keeps all of them.
MAX_GRADUATE_SKILLS = 400
MAX_LIST_ITEMS = 50
MAX_PAGE_SIZE = 200
# Ids are 32-bit integers in the database (PostgreSQL `integer`); a larger one names no record.
MAX_RECORD_ID = 2**31 - 1


def nfkc_trim(value: Any) -> Any:
    """NFKC (full-width letters and digits become half-width) and trim; non-strings pass."""
    if isinstance(value, str):
        return unicodedata.normalize("NFKC", value).strip()
    return value


def clean_text(value: Any) -> Any:
    """nfkc_trim, refusing what no text column can store: NUL and lone surrogates."""
    value = nfkc_trim(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("NUL characters (\\u0000) are not allowed")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError(
                    f"not valid Unicode: a lone surrogate at position {exc.start}"
                ) from None
    return value


def normalize_education(value: Any) -> Any:
    """Fold common spellings of an education level onto the five stored ones."""
    value = clean_text(value)
    if isinstance(value, str):
        return EDUCATION_ALIASES.get(value, value)
    return value


# The largest integer a spreadsheet (or JavaScript) holds exactly.
MAX_SPREADSHEET_NUMBER = 2**53 - 1
SpreadsheetNumber = Annotated[int, Field(ge=0, le=MAX_SPREADSHEET_NUMBER)]
"""How OpenAPI shows the numbers number_to_text accepts in place of text."""


def number_digits(value: Any) -> str | None:
    """The digits of a whole number in 0 … 2**53 - 1 (3142 or 3142.0), else None."""
    # Spreadsheets store ids and phone numbers typed as digits as numbers; JSON may write a
    # whole number as 3142.0, which JSON Schema counts as an integer too.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and 0 <= value <= MAX_SPREADSHEET_NUMBER
    ):
        return str(value)
    return None


def number_to_text(value: Any) -> Any:
    """A whole number becomes its digits; text is cleaned."""
    digits = number_digits(value)
    return digits if digits is not None else clean_text(value)


def refuse_number(value: Any) -> Any:
    """Dates and times are text: pydantic would read a number as seconds since 1970."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("write dates as YYYY-MM-DD (times as ISO 8601), not as a number")
    return value


def _dedupe(items: list[str]) -> list[str]:
    # Order matters to readers (first skills are the main ones); repeats carry nothing.
    return list(dict.fromkeys(item for item in items if item))


def empty_to_none(value: Any) -> Any:
    """Clean text; blank becomes None."""
    value = clean_text(value)
    return None if value == "" else value


Text = Annotated[str, BeforeValidator(clean_text)]
"""Free text, NFKC-normalised and trimmed."""

Name = Annotated[
    str,
    BeforeValidator(clean_text),
    StringConstraints(min_length=1, max_length=MAX_TITLE_CHARS),
]
"""A required, non-empty short text (title, company)."""

ShortText = Annotated[str, StringConstraints(max_length=MAX_ITEM_CHARS)]

# The cap sits on the str branch: a constraint on `str | None` itself fails on None (a 500).
OptionalShort = Annotated[ShortText | None, BeforeValidator(empty_to_none)]
"""An optional short text; blank becomes null, and null on PATCH clears the field."""

# The caps of the database columns (PostgreSQL refuses longer text with an error).
MAX_PLACE_CHARS = 64
MAX_EXPERIENCE_CHARS = 50
OptionalPlace = Annotated[
    Annotated[str, StringConstraints(max_length=MAX_PLACE_CHARS)] | None,
    BeforeValidator(empty_to_none),
]
"""An optional city or district (≤ 64 characters); blank becomes null."""
OptionalExperience = Annotated[
    Annotated[str, StringConstraints(max_length=MAX_EXPERIENCE_CHARS)] | None,
    BeforeValidator(empty_to_none),
]
"""The experience a posting asks for (≤ 50 characters); blank becomes null."""

Item = Annotated[str, BeforeValidator(clean_text), StringConstraints(max_length=MAX_ITEM_CHARS)]
ItemList = Annotated[list[Item], AfterValidator(_dedupe)]


def refuse_null(value: Any) -> Any:
    """A PATCH may leave a required field out, not null it."""
    if value is None:
        raise ValueError("may not be null; leave the field out to keep its value")
    return value


NotNull = Annotated[T | SkipJsonSchema[None], BeforeValidator(refuse_null)]
"""A PATCH field the record cannot lack: None means "not sent", an explicit null is a 422."""


def null_to_empty_text(value: Any) -> Any:
    """Optional free text is stored as "": null is accepted and means empty."""
    return "" if value is None else value


def null_to_empty_list(value: Any) -> Any:
    """Optional lists are stored as []: null is accepted and means empty."""
    return [] if value is None else value


ClearedList = Annotated[T | None, AfterValidator(null_to_empty_list)]
"""A PATCH list field: null clears it to []."""
ClearedText = Annotated[T | None, AfterValidator(null_to_empty_text)]
"""A PATCH text field: null clears it to ""."""


def nullable_list_schema(max_items: int) -> Any:
    """The input type OpenAPI shows for an optional list that accepts null."""
    return Annotated[list[Item], Field(max_length=max_items)] | None


Education = Annotated[EducationLevel, BeforeValidator(normalize_education)]
_ExternalIdText = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\s/?#]+$")
]
ExternalId = Annotated[
    _ExternalIdText,
    BeforeValidator(number_to_text, json_schema_input_type=_ExternalIdText | SpreadsheetNumber),
]
Salary = Annotated[int, Field(ge=0, le=1_000_000)]
Day = Annotated[date, BeforeValidator(refuse_number)]
"""A calendar date written YYYY-MM-DD."""
Moment = Annotated[datetime, BeforeValidator(refuse_number)]
"""A time written in ISO 8601."""


class InputModel(BaseModel):
    """Base of request bodies: unknown fields are an error, so typos never vanish silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutputModel(BaseModel):
    """Base of response bodies, read from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total count matching the filters."""

    items: list[T]
    total: int = Field(description="Records matching the filters, across all pages.")
    limit: int = Field(description="Page size requested.")
    offset: int = Field(description="Records skipped before this page.")


UpsertAction = Literal["created", "updated", "failed"]


class UpsertResult(BaseModel):
    """What happened to one record of a bulk upsert."""

    index: int = Field(description="Position of the record in the request (0-based).")
    external_id: str | None = Field(description="The record's external_id, when readable.")
    status: UpsertAction = Field(description="created, updated or failed.")
    id: int | None = Field(None, description="Database id of the stored record.")
    errors: list[dict[str, str]] = Field(
        default_factory=list, description="Why it failed: one entry per field and problem."
    )
    flag_count: int = Field(
        0, description="Postings: conditions found that campus-recruitment rules forbid."
    )
    flag_rules: list[str] = Field(
        default_factory=list, description="Postings: the rules of those flags, one per flag."
    )


class BulkResponse(BaseModel):
    """Per-record outcome of a bulk upsert; failures never drop the good records."""

    created: int
    updated: int
    failed: int
    flagged: int = Field(0, description="Postings stored or refused with compliance flags.")
    results: list[UpsertResult]


class FieldError(BaseModel):
    """One field's problem."""

    field: str = Field(description="Where: `title`, `skills[3]`, `query.offset`, `[2].city`.")
    message: str


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str = Field(description="Stable code: validation_error, not_found, conflict, …")
    message: str
    fields: list[FieldError] | None = Field(None, description="The fields at fault, if any.")


class ErrorBody(BaseModel):
    """The one error shape of every 4xx and 5xx answer."""

    error: ErrorDetail
