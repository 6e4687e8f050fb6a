"""Fixtures for the ranking-core unit tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"


def read_shared_jsonl(relative: str, limit: int, step: int = 1) -> list[dict[str, object]]:
    """Every step-th record of a ../shared JSONL file, or skip the test when it is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is absent: shared data not available on this machine")
    records: list[dict[str, object]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if number % step == 0:
                records.append(json.loads(line))
                if len(records) >= limit:
                    break
    return records
