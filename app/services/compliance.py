"""Posting checks on every write: the flags app.compliance finds are stored with the posting;
in reject mode a flagged posting is refused with 422 naming the fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Literal

from app.compliance import Flag, check_posting
from app.errors import ValidationFailed

ComplianceMode = Literal["flag", "reject"]

# The posting fields an employer words freely; city, salary and the like cannot discriminate.
CHECKED_FIELDS = ("title", "description", "skills", "majors", "experience")


def posting_flags(values: Mapping[str, Any]) -> list[Flag]:
    """The forbidden conditions in a posting's values (field name → value)."""
    return check_posting({field: values.get(field) for field in CHECKED_FIELDS})


def flag_messages(flags: list[Flag]) -> list[dict[str, str]]:
    """One error entry per flag, naming the field, for a 422 or a failed bulk record."""
    return [
        {"field": flag.field, "message": f"{flag.rule}: 「{flag.span}」 {flag.explanation}"}
        for flag in flags
    ]


def screen_posting(values: Mapping[str, Any], *, mode: ComplianceMode) -> dict[str, Any]:
    """The column values that record a posting's flags; in reject mode a flag is a 422."""
    flags = posting_flags(values)
    if flags and mode == "reject":
        rules = sorted({flag.rule for flag in flags})
        raise ValidationFailed(
            f"the posting states conditions campus-recruitment rules forbid: {', '.join(rules)}",
            details=flag_messages(flags),
        )
    return {"compliance_flags": [asdict(flag) for flag in flags], "flag_count": len(flags)}
