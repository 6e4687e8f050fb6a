"""Matches served from the current stored re-rank run (source=batch, app.batch)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from app.batch.store import StoredMatch, current_matches
from app.errors import NotFoundError, ValidationFailed
from app.repositories import get_graduate, get_job, tenant_graduates, tenant_jobs
from app.schemas.matches import GraduateMatches, IndexInfo, JobMatches, ScoreParts
from app.services.match_query import MatchQuery
from app.services.match_results import graduate_match, job_match
from app.tables import MatchRun


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
            ("major", None if query.major == "prefer" else query.major),
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
    get_job(session, tenant=tenant, job_id=job_id)
    run, rows = _batch_run(session, tenant=tenant, side="graduates", query_id=job_id, k=query.k)
    graduates = {
        g.id: g
        for g in tenant_graduates(session, tenant=tenant, ids=[r.candidate_id for r in rows])
    }
    matches = [
        graduate_match(
            graduate,
            graduate_id=row.candidate_id,
            rank=row.rank,
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
    get_graduate(session, tenant=tenant, graduate_id=graduate_id)
    run, rows = _batch_run(session, tenant=tenant, side="jobs", query_id=graduate_id, k=query.k)
    jobs = {
        j.id: j for j in tenant_jobs(session, tenant=tenant, ids=[r.candidate_id for r in rows])
    }
    matches = [
        job_match(job, job_id=job.id, rank=row.rank, score=row.score, parts=_stored_parts(row))
        for row in rows
        if (job := jobs.get(row.candidate_id)) is not None
    ]
    return JobMatches(graduate_id=graduate_id, index=_batch_index_info(run), matches=matches)
