"""Matches in their API shapes: sub-scores, explanations and the rows of a response."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from app.matching.snapshot import GraduateLabel, IndexSnapshot, JobLabel
from app.ranking import Match
from app.schemas.matches import (
    Explanation,
    GraduateMatch,
    IndexInfo,
    JobMatch,
    ScoreParts,
    TermContribution,
)
from app.tables import Graduate, Job


def parts_out(match: Match) -> ScoreParts:
    """The API shape of a match's sub-scores (the raw cosine goes with the explanation)."""
    parts = match.parts
    return ScoreParts(
        text=parts.text,
        major=parts.major,
        education=parts.education,
        city=parts.city,
        salary=parts.salary,
    )


def explanation_out(match: Match) -> Explanation | None:
    """The API shape of a match's explanation (None when not asked for)."""
    explanation = match.explanation
    if explanation is None:
        return None
    return Explanation(
        weights=asdict(explanation.weights),
        terms=[TermContribution(**asdict(term)) for term in explanation.terms],
        filters_passed=list(explanation.filters_passed),
        missing_skills=list(explanation.missing_skills),
        major_level=explanation.major_level,
        cosine=match.parts.cosine,
        best_cosine=explanation.best_cosine,
    )


def index_info(snapshot: IndexSnapshot) -> IndexInfo:
    """Which live version answered."""
    return IndexInfo(version=snapshot.version, fitted_at=snapshot.fitted_at, source="live")


def graduate_fields(graduate: GraduateLabel | Graduate) -> dict[str, Any]:
    """What a response shows of a graduate besides the id: no name, phone or e-mail."""
    return {
        "external_id": graduate.external_id,
        "major": graduate.major,
        "education": graduate.education,
        "school": graduate.school,
        "city": graduate.city,
    }


def graduate_match(
    graduate: GraduateLabel | Graduate,
    *,
    graduate_id: int,
    rank: int,
    score: float,
    parts: ScoreParts,
    explanation: Explanation | None = None,
) -> GraduateMatch:
    """One graduate of a response, from the live index's label or the stored row."""
    return GraduateMatch(
        rank=rank,
        graduate_id=graduate_id,
        score=score,
        parts=parts,
        explanation=explanation,
        **graduate_fields(graduate),
    )


def job_match(
    job: JobLabel | Job,
    *,
    job_id: int,
    rank: int,
    score: float,
    parts: ScoreParts,
    explanation: Explanation | None = None,
) -> JobMatch:
    """One job of a response, from the live index's label or the stored row."""
    return JobMatch(
        rank=rank,
        job_id=job_id,
        external_id=job.external_id,
        title=job.title,
        company=job.company,
        city=job.city,
        score=score,
        parts=parts,
        explanation=explanation,
    )


def graduate_matches(snapshot: IndexSnapshot, matches: list[Match]) -> list[GraduateMatch]:
    """Ranked live matches as response rows, best first."""
    return [
        graduate_match(
            snapshot.graduates[match.id],
            graduate_id=match.id,
            rank=rank,
            score=match.score,
            parts=parts_out(match),
            explanation=explanation_out(match),
        )
        for rank, match in enumerate(matches, start=1)
    ]


def job_matches(snapshot: IndexSnapshot, matches: list[Match]) -> list[JobMatch]:
    """Ranked live matches as response rows, best first."""
    return [
        job_match(
            snapshot.jobs[match.id],
            job_id=match.id,
            rank=rank,
            score=match.score,
            parts=parts_out(match),
            explanation=explanation_out(match),
        )
        for rank, match in enumerate(matches, start=1)
    ]
