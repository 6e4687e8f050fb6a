"""Import-format files (JSONL, judgements TSV) → ranking documents, for evaluation."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from app.ranking import GraduateDocument, JobDocument


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Records of a JSONL file (gzip if the name ends in .gz)."""
    opener: Any = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """query id → {document id: grade} from a tab-separated file."""
    qrels: dict[str, dict[str, int]] = {}
    opener: Any = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3 and parts[2].strip().lstrip("-").isdigit():
                qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def strings(value: Any) -> tuple[str, ...]:
    """A list field as a tuple of non-empty strings (a bare string is a list of one)."""
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value if v)


def job_from_record(number: int, record: dict[str, Any]) -> JobDocument:
    """A JobDocument from an import-format record; the id is its position in the file."""
    return JobDocument(
        id=number,
        title=record.get("title") or "",
        company=record.get("company") or "",
        city=record.get("city"),
        district=record.get("district"),
        industry=record.get("industry"),
        education=record.get("education") or "不限",
        experience=record.get("experience"),
        majors=strings(record.get("majors")),
        skills=strings(record.get("skills")),
        description=record.get("description") or "",
        salary_min=record.get("salary_min"),
        salary_max=record.get("salary_max"),
        headcount=record.get("headcount"),
    )


def graduate_from_record(number: int, record: dict[str, Any]) -> GraduateDocument:
    """A GraduateDocument from an import-format profile (protected fields are never read)."""
    return GraduateDocument(
        id=number,
        school=record.get("school"),
        major=record.get("major"),
        education=record.get("education") or "不限",
        graduation_year=record.get("graduation_year"),
        city=record.get("city"),
        desired_cities=strings(record.get("desired_cities")),
        desired_roles=strings(record.get("desired_roles")),
        skills=strings(record.get("skills")),
        summary=record.get("summary") or "",
        expected_salary=record.get("expected_salary"),
    )
