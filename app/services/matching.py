"""Match queries against the live index: graduates for a job, jobs for a graduate, drafts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from typing import Literal

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from app.batch.store import StoredMatch, current_matches
from app.errors import NotFoundError, ValidationFailed
from app.matching.documents import document_from_values
from app.matching.engine import MatchEngine
from app.matching.snapshot import IndexSnapshot
from app.metrics import MATCH_SECONDS, timed
from app.ranking import EDUCATION_LEVELS, FilterSpec, GraduateDocument, JobDocument, Match
from app.repositories import get_graduate, get_job, tenant_graduates, tenant_jobs
from app.schemas.matches import (
    AlsoIn,
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
from app.services.duplicates import posting_groups
from app.settings import Settings
from app.tables import Job, MatchRun, utcnow

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
    # prefer: major fit is part of the score; require: also a hard filter on the job's listed
    # majors and their classes.
    major: Literal["prefer", "require"] = "prefer"
    # Jobs for a graduate: near-duplicate postings collapse into their best-ranked one.
    collapse: bool = True


def _filters(query: MatchQuery, candidates: Literal["jobs", "graduates"]) -> FilterSpec:
    years = None
    if query.graduation_year_min is not None or query.graduation_year_max is not None:
        years = (query.graduation_year_min or 0, query.graduation_year_max or 9999)
    status_on = query.status != ANY_STATUS
    major_required = query.major == "require"
    if candidates == "graduates":
        return FilterSpec(
            major_required=major_required,
            status=status_on,
            graduate_statuses=(query.status,) if status_on and query.status else ("seeking",),
            candidate_city=query.city,
            min_education=query.education,
            graduation_years=years,
            max_expected_salary=query.salary,
        )
    return FilterSpec(
        major_required=major_required,
        status=status_on,
        job_statuses=(query.status,) if status_on and query.status else ("open",),
        candidate_city=query.city,
        min_education=query.education,
        min_salary=query.salary,
    )


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
                parts=parts_out(match),
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
                parts=parts_out(match),
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
        # Ranked once per snapshot state: asked again before any change, it is not re-ranked.
        matches = snapshot.answer(
            ("graduates for job", job_id, query),
            partial(
                snapshot.ranker.graduates_for_job,
                job_id,
                query.k,
                filters=_filters(query, "graduates"),
                explain=query.explain,
            ),
        )
        return GraduateMatches(
            job_id=job_id,
            index=_index_info(snapshot),
            matches=_graduate_matches(snapshot, matches),
        )


def jobs_for_graduate(
    session: Session,
    engine: MatchEngine,
    *,
    tenant: str,
    graduate_id: int,
    query: MatchQuery,
    settings: Settings,
) -> JobMatches:
    """The jobs that fit a stored graduate best; near-duplicate postings collapsed unless
    query.collapse is False. A graduate who opted out gets the newest jobs instead."""
    graduate = get_graduate(session, tenant=tenant, graduate_id=graduate_id)
    if not graduate.personalised:
        result = recent_jobs(session, tenant=tenant, graduate_id=graduate_id, query=query)
    elif query.source == "batch":
        result = batch_jobs_for_graduate(
            session, tenant=tenant, graduate_id=graduate_id, query=query
        )
    else:
        with (
            timed(MATCH_SECONDS, direction="jobs_for_graduate"),
            engine.reading(session, tenant) as snapshot,
        ):
            if snapshot is None or graduate_id not in snapshot.graduates:
                raise NotFoundError(f"graduate {graduate_id} not found")
            # Room for the duplicates that collapse away.
            wanted = query.k * COLLAPSE_POOL if query.collapse else query.k
            matches = snapshot.answer(
                ("jobs for graduate", graduate_id, wanted, query),
                partial(
                    snapshot.ranker.jobs_for_graduate,
                    graduate_id,
                    wanted,
                    filters=_filters(query, "jobs"),
                    explain=query.explain,
                ),
            )
            result = JobMatches(
                graduate_id=graduate_id,
                index=_index_info(snapshot),
                matches=_job_matches(snapshot, matches),
            )
    if query.collapse:
        result.matches = collapse_duplicates(
            session, tenant=tenant, matches=result.matches, k=query.k, settings=settings
        )
    return result


# Candidates ranked per job asked for when collapsing: a posting rarely has more than two
# near-duplicates among a graduate's best matches.
COLLAPSE_POOL = 3


def collapse_duplicates(
    session: Session, *, tenant: str, matches: list[JobMatch], k: int, settings: Settings
) -> list[JobMatch]:
    """One entry per group of near-duplicate postings, the best-ranked, with `also_in` naming
    the group's other open postings; ranks renumbered, at most k entries."""
    groups = posting_groups(
        session, tenant=tenant, job_ids=[m.job_id for m in matches], settings=settings
    )
    shown: list[JobMatch] = []
    covered: set[int] = set()
    for match in matches:
        if match.job_id in covered:
            continue
        others = groups.get(match.job_id, [])
        covered.update(other.id for other in others)
        shown.append(
            match.model_copy(
                update={
                    "rank": len(shown) + 1,
                    "also_in": [AlsoIn(job_id=other.id, city=other.city) for other in others],
                }
            )
        )
        if len(shown) == k:
            break
    return shown


def _stored_job_match(job: Job, *, rank: int, score: float, parts: ScoreParts) -> JobMatch:
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


def recent_jobs(
    session: Session, *, tenant: str, graduate_id: int, query: MatchQuery
) -> JobMatches:
    """Jobs for a graduate who opted out of personalised ranking: newest first, within the
    filters the request states; nothing of the profile is read."""
    conditions: list[ColumnElement[bool]] = [Job.tenant == tenant]
    if query.status != ANY_STATUS:
        conditions.append(Job.status == (query.status or "open"))
    if query.city is not None:
        conditions.append(Job.city == query.city)
    if query.education is not None:
        level = EDUCATION_LEVELS[query.education]
        at_least = [name for name, rank in EDUCATION_LEVELS.items() if rank >= level]
        conditions.append(or_(Job.education == "不限", Job.education.in_(at_least)))
    if query.salary is not None:
        conditions.append(or_(Job.salary_max.is_(None), Job.salary_max >= query.salary))
    jobs = session.scalars(
        select(Job)
        .where(*conditions)
        .order_by(Job.posted_at.desc().nulls_last(), Job.created_at.desc(), Job.id.desc())
        .limit(query.k * COLLAPSE_POOL if query.collapse else query.k)
    ).all()
    zero = ScoreParts(text=0.0, major=0.0, education=0.0, city=0.0, salary=0.0)
    matches = [
        _stored_job_match(job, rank=rank, score=0.0, parts=zero)
        for rank, job in enumerate(jobs, start=1)
    ]
    return JobMatches(
        graduate_id=graduate_id,
        index=IndexInfo(
            version="recency",
            fitted_at=utcnow(),
            source="recency",
            personalised=False,
        ),
        matches=matches,
    )


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
    get_graduate(session, tenant=tenant, graduate_id=graduate_id)
    run, rows = _batch_run(session, tenant=tenant, side="jobs", query_id=graduate_id, k=query.k)
    jobs = {
        j.id: j for j in tenant_jobs(session, tenant=tenant, ids=[r.candidate_id for r in rows])
    }
    matches = [
        _stored_job_match(job, rank=row.rank, score=row.score, parts=_stored_parts(row))
        for row in rows
        if (job := jobs.get(row.candidate_id)) is not None
    ]
    return JobMatches(graduate_id=graduate_id, index=_batch_index_info(run), matches=matches)
