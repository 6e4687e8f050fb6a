"""Match request and response shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, Field, model_validator

from app.schemas.common import ExternalId, InputModel
from app.schemas.graduates import GraduateCreate
from app.schemas.jobs import JobCreate


class ScoreParts(BaseModel):
    """Unweighted sub-scores, each in [0, 1]."""

    text: float = Field(
        description="Calibrated text part: the TF-IDF cosine over the best cosine among the "
        "query's eligible candidates (1.0 = as close as the closest one)."
    )
    major: float = Field(
        description="Major fit: a listed major 1.0 > same class 0.75 > related class 0.5 > "
        "no major stated 0.25 > unrelated 0."
    )
    education: float = Field(description="Education fit.")
    city: float = Field(description="City fit.")
    salary: float = Field(description="Salary fit.")


class TermContribution(BaseModel):
    """A term both sides share and how much it adds to the cosine."""

    term: str
    query_weight: float = Field(description="Weight of the term in the query's vector.")
    document_weight: float = Field(description="Weight of the term in the candidate's vector.")
    contribution: float = Field(description="query_weight × document_weight.")


class Explanation(BaseModel):
    """Why a candidate ranks where it does."""

    weights: dict[str, float] = Field(description="Blend weights: final = Σ weight × part.")
    terms: list[TermContribution] = Field(
        description="Top shared terms by contribution. A term starting with `~` is a character "
        "n-gram of the job title matched in the graduate's desired roles and skills."
    )
    filters_passed: list[str] = Field(description="Hard filters the candidate passed.")
    missing_skills: list[str] = Field(description="The job's skills the graduate does not list.")
    major_level: str = Field(
        description="The major relation applied: listed major, same class, related class, "
        "no major to compare or unrelated major."
    )
    cosine: float = Field(description="The raw TF-IDF cosine the text part comes from.")
    best_cosine: float = Field(
        description="The best cosine among the query's eligible candidates: text = cosine / this."
    )


class GraduateMatch(BaseModel):
    """One graduate ranked for a job. Contact details are not part of a match."""

    rank: int
    graduate_id: int
    external_id: str
    major: str | None
    education: str
    school: str | None
    city: str | None
    score: float = Field(description="Final score (see explanation.weights).")
    parts: ScoreParts
    explanation: Explanation | None = None


class AlsoIn(BaseModel):
    """Another posting of the same company with near-identical text (e.g. another city)."""

    job_id: int
    city: str | None


class JobMatch(BaseModel):
    """One job ranked for a graduate."""

    rank: int
    job_id: int
    external_id: str
    title: str
    company: str
    city: str | None
    score: float
    parts: ScoreParts
    explanation: Explanation | None = None
    also_in: list[AlsoIn] = Field(
        default_factory=list,
        description="Near-duplicates of this posting collapsed into it (collapse=true).",
    )


class IndexInfo(BaseModel):
    """The ranking version that produced an answer."""

    version: str
    fitted_at: datetime
    source: str = Field(
        description="live (in-memory index), batch (a stored re-rank run) or recency (the "
        "graduate opted out of personalised ranking)."
    )
    run_id: int | None = Field(None, description="The stored re-rank run (source batch).")
    computed_at: datetime | None = Field(
        None, description="When that run completed (source batch)."
    )
    personalised: bool = Field(
        True,
        description="false: the graduate opted out, so jobs are ordered by recency within "
        "the stated filters, without their profile.",
    )


class GraduateMatches(BaseModel):
    """Graduates for a job, best first."""

    job_id: int | None = Field(description="The job, or null for an unsaved draft.")
    index: IndexInfo | None
    matches: list[GraduateMatch]


class JobMatches(BaseModel):
    """Jobs for a graduate, best first."""

    graduate_id: int | None = Field(description="The graduate, or null for an unsaved draft.")
    index: IndexInfo | None
    matches: list[JobMatch]


class JobDraft(JobCreate):
    """An unsaved job posting (external_id optional)."""

    external_id: ExternalId | None = Field(None, description="Optional for a draft.")  # type: ignore[assignment]


class GraduateDraft(GraduateCreate):
    """An unsaved graduate profile (external_id optional)."""

    external_id: ExternalId | None = Field(None, description="Optional for a draft.")  # type: ignore[assignment]


class MatchRequest(InputModel):
    """Exactly one of `job` (→ graduates) or `graduate` (→ jobs)."""

    job: JobDraft | None = Field(None, description="A posting to preview before publishing.")
    graduate: GraduateDraft | None = Field(None, description="A profile to find jobs for.")

    @model_validator(mode="after")
    def _exactly_one_side(self) -> Self:
        if (self.job is None) == (self.graduate is None):
            raise ValueError("send exactly one of `job` or `graduate`")
        return self


class MatchPreview(BaseModel):
    """Matches for an unsaved record: graduates for a job draft, or jobs for a graduate draft."""

    graduates: GraduateMatches | None = None
    jobs: JobMatches | None = None
