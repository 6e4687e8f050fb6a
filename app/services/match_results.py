"""Matches in their API shapes: sub-scores, explanations and the rows of a response."""

from __future__ import annotations

from dataclasses import asdict

from app.matching.snapshot import IndexSnapshot
from app.ranking import Match
from app.schemas.matches import (
    Explanation,
    GraduateMatch,
    IndexInfo,
    JobMatch,
    ScoreParts,
    TermContribution,
)
from app.tables import Job


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
    return IndexInfo(version=snapshot.version, fitted_at=snapshot.fitted_at, source="live")


def graduate_matches(snapshot: IndexSnapshot, matches: list[Match]) -> list[GraduateMatch]:
    results = []
    for rank, match in enumerate(matches, start=1):
        label = snapshot.graduates[match.id]
        results.append(
            GraduateMatch(
                rank=rank,
                graduate_id=match.id,
                external_id=label.external_id,
                major=label.major,
                education=label.education,
                school=label.school,
                city=label.city,
                score=match.score,
                parts=parts_out(match),
                explanation=explanation_out(match),
            )
        )
    return results


def job_matches(snapshot: IndexSnapshot, matches: list[Match]) -> list[JobMatch]:
    results = []
    for rank, match in enumerate(matches, start=1):
        label = snapshot.jobs[match.id]
        results.append(
            JobMatch(
                rank=rank,
                job_id=match.id,
                external_id=label.external_id,
                title=label.title,
                company=label.company,
                city=label.city,
                score=match.score,
                parts=parts_out(match),
                explanation=explanation_out(match),
            )
        )
    return results


def stored_job_match(job: Job, *, rank: int, score: float, parts: ScoreParts) -> JobMatch:
    return JobMatch(
        rank=rank,
        job_id=job.id,
        external_id=job.external_id,
        title=job.title,
        company=job.company,
        city=job.city,
        score=score,
        parts=parts,
    )
