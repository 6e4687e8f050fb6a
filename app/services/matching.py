"""Match queries against the live index: graduates for a job, jobs for a graduate, drafts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.batch.store import StoredMatch, current_matches
from app.errors import NotFoundError, ValidationFailed
from app.matching.documents import document_from_values
from app.matching.engine import IndexSnapshot, MatchEngine
from app.metrics import MATCH_SECONDS, timed
from app.ranking import FilterSpec, GraduateDocument, JobDocument, Match
from app.schemas.matches import (
    Explanation,
    GraduateMatch,
    GraduateMatches,
    IndexInfo,
    JobMatch,
    JobMatches,
    MatchPreview,
    MatchRequest,
    ScoreParts,
    TermContribution,
)
from app.services.records import get_record
from app.tables import Graduate, Job, MatchRun

ANY_STATUS = "any"


@dataclass(frozen=True, slots=True)
class MatchQuery:
    """How many candidates, whether to explain them, and the candidate filters."""

    k: int = 10
    explain: bool = False
    city: str | None = None
    education: str | None = None
    graduation_year_min: int | None = None
    graduation_year_max: int | None = None
    salary: int | None = None
    status: str | None = None
    # live: the in-memory index; batch: the current stored re-rank run (app.batch).
    source: Literal["live", "batch"] = "live"


def _filters(query: MatchQuery, candidates: Literal["jobs", "graduates"]) -> FilterSpec:
    years = None
    if query.graduation_year_min is not None or query.graduation_year_max is not None:
        years = (query.graduation_year_min or 0, query.graduation_year_max or 9999)
    status_on = query.status != ANY_STATUS
    if candidates == "graduates":
        return FilterSpec(
            status=status_on,
            graduate_statuses=(query.status,) if status_on and query.status else ("seeking",),
            candidate_city=query.city,
            min_education=query.education,
            graduation_years=years,
            max_expected_salary=query.salary,
        )
    return FilterSpec(
        status=status_on,
        job_statuses=(query.status,) if status_on and query.status else ("open",),
        candidate_city=query.city,
        min_education=query.education,
        min_salary=query.salary,
    )


def _parts(match: Match) -> ScoreParts:
    return ScoreParts(**asdict(match.parts))


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
    )


def _index_info(snapshot: IndexSnapshot) -> IndexInfo:
    return IndexInfo(version=snapshot.version, fitted_at=snapshot.fitted_at, source="live")


def _graduate_matches(snapshot: IndexSnapshot, matches: list[Match]) -> list[GraduateMatch]:
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
                parts=_parts(match),
                explanation=explanation_out(match),
            )
        )
    return results


def _job_matches(snapshot: IndexSnapshot, matches: list[Match]) -> list[JobMatch]:
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
                parts=_parts(match),
                explanation=explanation_out(match),
            )
        )
    return results


def graduates_for_job(
    session: Session, engine: MatchEngine, *, tenant: str, job_id: int, query: MatchQuery
) -> GraduateMatches:
    """The graduates who fit a stored job best."""
    if query.source == "batch":
        return batch_graduates_for_job(session, tenant=tenant, job_id=job_id, query=query)
    with (
        timed(MATCH_SECONDS, direction="graduates_for_job"),
        engine.reading(session, tenant) as snapshot,
    ):
        if snapshot is None or job_id not in snapshot.jobs:
            raise NotFoundError(f"job {job_id} not found")
        ready = snapshot

        def answer() -> GraduateMatches:
            matches = ready.ranker.graduates_for_job(
                job_id, query.k, filters=_filters(query, "graduates"), explain=query.explain
            )
            return GraduateMatches(
                job_id=job_id, index=_index_info(ready), matches=_graduate_matches(ready, matches)
            )

        return snapshot.answer(("graduates for job", job_id, query), answer)


def jobs_for_graduate(
    session: Session, engine: MatchEngine, *, tenant: str, graduate_id: int, query: MatchQuery
) -> JobMatches:
    """The jobs that fit a stored graduate best."""
    if query.source == "batch":
        return batch_jobs_for_graduate(session, tenant=tenant, graduate_id=graduate_id, query=query)
    with (
        timed(MATCH_SECONDS, direction="jobs_for_graduate"),
        engine.reading(session, tenant) as snapshot,
    ):
        if snapshot is None or graduate_id not in snapshot.graduates:
            raise NotFoundError(f"graduate {graduate_id} not found")
        ready = snapshot

        def answer() -> JobMatches:
            matches = ready.ranker.jobs_for_graduate(
                graduate_id, query.k, filters=_filters(query, "jobs"), explain=query.explain
            )
            return JobMatches(
                graduate_id=graduate_id,
                index=_index_info(ready),
                matches=_job_matches(ready, matches),
            )

        return snapshot.answer(("jobs for graduate", graduate_id, query), answer)


def preview_matches(
    session: Session,
    engine: MatchEngine,
    *,
    tenant: str,
    request: MatchRequest,
    query: MatchQuery,
) -> MatchPreview:
    """Matches for an unsaved job (→ graduates) or graduate (→ jobs); nothing is stored."""
    with timed(MATCH_SECONDS, direction="preview"), engine.reading(session, tenant) as snapshot:
        if request.job is not None:
            job = document_from_values("job", request.job.model_dump(exclude={"external_id"}))
            assert isinstance(job, JobDocument)
            matches = (
                snapshot.ranker.graduates_for_job(
                    job, query.k, filters=_filters(query, "graduates"), explain=query.explain
                )
                if snapshot is not None
                else []
            )
            return MatchPreview(
                graduates=GraduateMatches(
                    job_id=None,
                    index=_index_info(snapshot) if snapshot else None,
                    matches=_graduate_matches(snapshot, matches) if snapshot else [],
                )
            )
        assert request.graduate is not None
        graduate = document_from_values(
            "graduate", request.graduate.model_dump(exclude={"external_id"})
        )
        assert isinstance(graduate, GraduateDocument)
        job_matches = (
            snapshot.ranker.jobs_for_graduate(
                graduate, query.k, filters=_filters(query, "jobs"), explain=query.explain
            )
            if snapshot is not None
            else []
        )
        return MatchPreview(
            jobs=JobMatches(
                graduate_id=None,
                index=_index_info(snapshot) if snapshot else None,
                matches=_job_matches(snapshot, job_matches) if snapshot else [],
            )
        )


# --- batch: the current stored re-rank run ----------------------------------------------


def _check_batch_query(query: MatchQuery, default_status: str) -> None:
    """A stored run was ranked with the default filters and no explanations."""
    asked = [
        name
        for name, value in (
            ("explain", query.explain or None),
            ("city", query.city),
            ("education", query.education),
            ("graduation_year_min", query.graduation_year_min),
            ("graduation_year_max", query.graduation_year_max),
            ("salary", query.salary),
            ("status", None if query.status in (None, default_status) else query.status),
        )
        if value is not None
    ]
    if asked:
        message = (
            f"source=batch serves the stored run, ranked with the default filters and no "
            f"explanations; drop {', '.join(asked)} or use source=live"
        )
        raise ValidationFailed(message, details=[{"field": "query.source", "message": message}])


def _batch_run(
    session: Session, *, tenant: str, side: Literal["jobs", "graduates"], query_id: int, k: int
) -> tuple[MatchRun, list[StoredMatch]]:
    run, rows = current_matches(session, tenant=tenant, side=side, query_id=query_id, k=k)
    if run is None:
        raise NotFoundError(
            f"no complete batch run of side {side} for tenant {tenant}; run `jobmatch rerank`"
        )
    return run, rows


def _batch_index_info(run: MatchRun) -> IndexInfo:
    params = run.params
    fitted_at = params.get("fitted_at") or ""
    return IndexInfo(
        version=str(params.get("version", "")),
        fitted_at=datetime.fromisoformat(fitted_at) if fitted_at else run.started_at,
        source="batch",
        run_id=run.id,
        computed_at=run.finished_at,
    )


def _stored_parts(row: StoredMatch) -> ScoreParts:
    return ScoreParts(
        text=row.text, major=row.major, education=row.education, city=row.city, salary=row.salary
    )


def batch_graduates_for_job(
    session: Session, *, tenant: str, job_id: int, query: MatchQuery
) -> GraduateMatches:
    """The graduates the current batch run ranked best for a job (up to its top-k)."""
    _check_batch_query(query, "seeking")
    get_record(session, Job, tenant=tenant, record_id=job_id)
    run, rows = _batch_run(session, tenant=tenant, side="graduates", query_id=job_id, k=query.k)
    graduates = {
        g.id: g
        for g in session.scalars(
            select(Graduate).where(
                Graduate.tenant == tenant, Graduate.id.in_([r.candidate_id for r in rows])
            )
        )
    }
    matches = [
        GraduateMatch(
            rank=row.rank,
            graduate_id=row.candidate_id,
            external_id=graduate.external_id,
            major=graduate.major,
            education=graduate.education,
            school=graduate.school,
            city=graduate.city,
            score=row.score,
            parts=_stored_parts(row),
        )
        for row in rows
        # A graduate deleted since the run is left out (the others keep their ranks).
        if (graduate := graduates.get(row.candidate_id)) is not None
    ]
    return GraduateMatches(job_id=job_id, index=_batch_index_info(run), matches=matches)


def batch_jobs_for_graduate(
    session: Session, *, tenant: str, graduate_id: int, query: MatchQuery
) -> JobMatches:
    """The jobs the current batch run ranked best for a graduate (up to its top-k)."""
    _check_batch_query(query, "open")
    get_record(session, Graduate, tenant=tenant, record_id=graduate_id)
    run, rows = _batch_run(session, tenant=tenant, side="jobs", query_id=graduate_id, k=query.k)
    jobs = {
        j.id: j
        for j in session.scalars(
            select(Job).where(Job.tenant == tenant, Job.id.in_([r.candidate_id for r in rows]))
        )
    }
    matches = [
        JobMatch(
            rank=row.rank,
            job_id=row.candidate_id,
            external_id=job.external_id,
            title=job.title,
            company=job.company,
            city=job.city,
            score=row.score,
            parts=_stored_parts(row),
        )
        for row in rows
        if (job := jobs.get(row.candidate_id)) is not None
    ]
    return JobMatches(graduate_id=graduate_id, index=_batch_index_info(run), matches=matches)
