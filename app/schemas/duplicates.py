"""Near-duplicate shapes: the postings or profiles near-identical to one record."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DuplicateJob(BaseModel):
    """A posting of the same company with near-identical text."""

    job_id: int
    external_id: str
    title: str
    city: str | None
    status: str
    similarity: float = Field(description="Estimated Jaccard similarity of word shingles.")


class JobDuplicates(BaseModel):
    """The near-duplicates of a posting, most similar first."""

    job_id: int
    duplicates: list[DuplicateJob]


class DuplicateGraduate(BaseModel):
    """A profile of the same major with near-identical text (no contact details)."""

    graduate_id: int
    external_id: str
    status: str
    similarity: float = Field(description="Estimated Jaccard similarity of word shingles.")


class GraduateDuplicates(BaseModel):
    """The near-duplicates of a profile, most similar first."""

    graduate_id: int
    duplicates: list[DuplicateGraduate]
