"""What every reader yields or raises: RawRecord, ReaderError, and how list cells are split."""

from __future__ import annotations

import json
import re
from typing import Any, Final, NamedTuple

LIST_FIELDS: Final = frozenset({"skills", "majors", "desired_cities", "desired_roles"})
"""Fields holding lists: CSV and XLSX cells are split into items (a JSON array also works)."""

# Separators people type between list items in a spreadsheet cell, full- and half-width.
_LIST_SEPARATORS = re.compile(r"[；;、,，|｜\r\n]+")


class RawRecord(NamedTuple):
    """One record as read: its 1-based line (or row) number, the data, or why it is unreadable."""

    line: int
    data: dict[str, Any] | None
    error: str | None


class ReaderError(ValueError):
    """The file as a whole cannot be read: unknown format, encoding, or header."""


def split_list(value: str) -> list[str]:
    """Split a cell into items: a JSON array, or text separated by any of ；;、,，| or newlines."""
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            # Not JSON (e.g. a Python-style ['PLC', 'CAD']): split what is inside the brackets.
            text = text.strip("[]")
        else:
            if isinstance(parsed, list):
                return [
                    item.strip() if isinstance(item, str) else item
                    for item in parsed
                    if item is not None and not (isinstance(item, str) and not item.strip())
                ]
    items = (item.strip().strip("'\"").strip() for item in _LIST_SEPARATORS.split(text))
    return [item for item in items if item]
