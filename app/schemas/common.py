"""Shared field types: NFKC-normalised, trimmed text with documented caps."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

EducationLevel = Literal["不限", "大专", "本科", "硕士", "博士"]

# Spellings seen in Chinese postings and CVs, folded to the five stored levels.
EDUCATION_ALIASES = {
    "学历不限": "不限",
    "无": "不限",
    "专科": "大专",
    "高职": "大专",
    "大专及以上": "大专",
    "学士": "本科",
    "本科及以上": "本科",
    "统招本科": "本科",
    "研究生": "硕士",
    "硕士研究生": "硕士",
    "硕士及以上": "硕士",
    "博士研究生": "博士",
}

MAX_TITLE_CHARS = 200
MAX_TEXT_CHARS = 20_000
MAX_ITEM_CHARS = 100
MAX_JOB_SKILLS = 100
# Job-board CVs carry ~30 keyword tags (median) and up to ~310; 400 keeps all of them.
MAX_GRADUATE_SKILLS = 400
MAX_LIST_ITEMS = 50
MAX_PAGE_SIZE = 200


def normalize_text(value: Any) -> Any:
    """NFKC (full-width letters and digits become half-width) and trim; non-strings pass."""
    if isinstance(value, str):
        return unicodedata.normalize("NFKC", value).strip()
    return value


def normalize_education(value: Any) -> Any:
    """Fold common spellings of an education level onto the five stored ones."""
    value = normalize_text(value)
    if isinstance(value, str):
        return EDUCATION_ALIASES.get(value, value)
    return value


def number_to_text(value: Any) -> Any:
    # Spreadsheets store ids and phone numbers typed as digits as numbers.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return normalize_text(value)


def _dedupe(items: list[str]) -> list[str]:
    # Order matters to readers (first skills are the main ones); repeats carry nothing.
    return list(dict.fromkeys(item for item in items if item))


def _empty_to_none(value: Any) -> Any:
    value = normalize_text(value)
    return None if value == "" else value


Text = Annotated[str, BeforeValidator(normalize_text)]
"""Free text, NFKC-normalised and trimmed."""

Name = Annotated[
    str,
    BeforeValidator(normalize_text),
    StringConstraints(min_length=1, max_length=MAX_TITLE_CHARS),
]
"""A required, non-empty short text (title, company)."""

OptionalShort = Annotated[
    str | None,
    BeforeValidator(_empty_to_none),
    Field(max_length=MAX_ITEM_CHARS),
]
"""An optional short text; blank becomes null."""

Item = Annotated[str, BeforeValidator(normalize_text), StringConstraints(max_length=MAX_ITEM_CHARS)]
ItemList = Annotated[list[Item], AfterValidator(_dedupe)]
Education = Annotated[EducationLevel, BeforeValidator(normalize_education)]
ExternalId = Annotated[
    str,
    BeforeValidator(number_to_text),
    StringConstraints(min_length=1, max_length=128, pattern=r"^[^\s/?#]+$"),
]
Salary = Annotated[int, Field(ge=0, le=1_000_000)]


class InputModel(BaseModel):
    """Base of request bodies: unknown fields are an error, so typos never vanish silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutputModel(BaseModel):
    """Base of response bodies, read from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


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
