"""Match queries against the live index: graduates for a job, jobs for a graduate, drafts."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from app.errors import NotFoundError
from app.matching.documents import DatabaseDocuments, document_from_values
from app.matching.engine import MatchEngine
from app.matching.snapshot import ANSWERS_KEPT, IndexSnapshot, KeptResponses
from app.metrics import MATCH_SECONDS, timed
from app.ranking import EDUCATION_LEVELS, GraduateDocument, JobDocument
from app.repositories import get_graduate
from app.schemas.matches import (
    AlsoIn,
    GraduateMatches,
    IndexInfo,
    JobMatch,
    JobMatches,
    MatchPreview,
    MatchRequest,
    ScoreParts,
)
from app.services.batch_matching import batch_graduates_for_job, batch_jobs_for_graduate
from app.services.duplicates import company_duplicates
from app.services.match_query import ANY_STATUS, MatchQuery, candidate_filters
from app.services.match_results import graduate_matches, index_info, job_match, job_matches
from app.settings import Settings
from app.tables import Job, utcnow


def explained_from(session: Session, tenant: str, query: MatchQuery) -> DatabaseDocuments | None:
    """Where explanations read their documents: the tenant's rows (a served ranker keeps no
    document text), or nothing when none are asked for. Called before engine.reading (see
    DatabaseDocuments)."""
    return DatabaseDocuments(session, tenant) if query.explain else None


def graduates_for_job(
    session: Session, engine: MatchEngine, *, tenant: str, job_id: int, query: MatchQuery
) -> GraduateMatches:
    """The graduates who fit a stored job best."""
    if query.source == "batch":
        return batch_graduates_for_job(session, tenant=tenant, job_id=job_id, query=query)
    documents = explained_from(session, tenant, query)
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
                filters=candidate_filters(query, "graduates"),
                explain=query.explain,
                documents=documents,
            ),
        )
        return GraduateMatches(
            job_id=job_id,
            index=index_info(snapshot),
            matches=graduate_matches(snapshot, matches),
        )


def cached_jobs_for_graduate(
    engine: MatchEngine, *, tenant: str, graduate_id: int, query: MatchQuery
) -> bytes | None:
    """The JSON of jobs_for_graduate_json's answer to the same query, when nothing was
    committed since it was given; else None. No database work, no lock, no thread."""
    if query.source == "batch":
        return None  # batch results are not in the change log: never kept
    snapshot = engine.fresh_snapshot(tenant)
    if snapshot is None:
        return None
    return snapshot.responses.get((RESPONSE, graduate_id, query))


# Key of a whole response's JSON among a snapshot's kept responses.
RESPONSE = "jobs for graduate, as JSON"


def jobs_for_graduate_json(
    session: Session,
    engine: MatchEngine,
    *,
    tenant: str,
    graduate_id: int,
    query: MatchQuery,
    settings: Settings,
) -> bytes:
    """The jobs that fit a stored graduate best, as the response's JSON; near-duplicate postings
    collapsed unless query.collapse is False. A graduate who opted out gets the newest jobs."""
    # The kept responses of the snapshot ranked on, when the whole response may join them.
    kept: KeptResponses | None = None
    collapsed = False
    if not _personalised(session, engine, tenant=tenant, graduate_id=graduate_id):
        result = recent_jobs(session, tenant=tenant, graduate_id=graduate_id, query=query)
    elif query.source == "batch":
        result = batch_jobs_for_graduate(
            session, tenant=tenant, graduate_id=graduate_id, query=query
        )
    else:
        documents = explained_from(session, tenant, query)
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
                    filters=candidate_filters(query, "jobs"),
                    explain=query.explain,
                    documents=documents,
                ),
            )
            result = JobMatches(
                graduate_id=graduate_id,
                index=index_info(snapshot),
                matches=job_matches(snapshot, matches),
            )
            if query.collapse:
                result.matches = collapse_duplicates(
                    result.matches, k=query.k, duplicates_of=indexed_duplicates(snapshot, settings)
                )
                collapsed = True
            kept = snapshot.responses
    if query.collapse and not collapsed:
        result.matches = _collapse_read(
            session, engine, tenant=tenant, matches=result.matches, k=query.k, settings=settings
        )
    body = result.model_dump_json().encode()
    if kept is not None:
        kept.put((RESPONSE, graduate_id, query), body)
    return body


def _personalised(session: Session, engine: MatchEngine, *, tenant: str, graduate_id: int) -> bool:
    """Whether a stored graduate takes personalised matches (not found: 404). Kept with the
    snapshot's answers, which any write to the profile clears: no query per request. Read,
    when not kept, after the tenant lock is let go (the engine's lock order)."""
    key = ("personalised", graduate_id)
    with engine.reading(session, tenant) as snapshot:
        # Taken under the lock: a change replaces the dict, so a value put in it after the
        # change lands where nobody reads it again (IndexSnapshot.answers).
        answers = snapshot.answers if snapshot is not None else None
    if answers is not None and key in answers:
        kept: bool = answers[key]
        return kept
    personalised = get_graduate(session, tenant=tenant, graduate_id=graduate_id).personalised
    if answers is not None and len(answers) < ANSWERS_KEPT:
        answers[key] = personalised
    return personalised


# Candidates ranked per job asked for when collapsing: a posting rarely has more than two
# near-duplicates among a graduate's best matches.
COLLAPSE_POOL = 3
# Job id → its near-duplicates' (id, city).
Groups = dict[int, list[tuple[int, str | None]]]
# A posting's near-duplicates among its company's open postings, as (id, city) in id order.
DuplicatesOf = Callable[[int], list[tuple[int, str | None]]]


def indexed_duplicates(snapshot: IndexSnapshot, settings: Settings) -> DuplicatesOf:
    """Near-duplicates from the snapshot's signatures of open postings; each posting's kept
    with the snapshot's answers, which any change clears (the caller holds the tenant lock)."""
    params = (
        settings.duplicate_threshold,
        settings.duplicate_title_overlap,
        settings.duplicate_min_tokens,
    )
    known: Groups = snapshot.answer(("near-duplicates by posting", params), dict)

    def duplicates_of(job_id: int) -> list[tuple[int, str | None]]:
        found = known.get(job_id)
        if found is None:
            similar = snapshot.open_postings.similar_to(
                job_id,
                threshold=settings.duplicate_threshold,
                title_overlap=settings.duplicate_title_overlap,
                min_tokens=settings.duplicate_min_tokens,
            )
            found = known[job_id] = [
                (other, snapshot.jobs[other].city) for other in sorted(key for key, _ in similar)
            ]
        return found

    return duplicates_of


def _collapse_read(
    session: Session,
    engine: MatchEngine,
    *,
    tenant: str,
    matches: list[JobMatch],
    k: int,
    settings: Settings,
) -> list[JobMatch]:
    """collapse_duplicates for matches not ranked on the snapshot (opted out, batch): its
    signatures when it exists, else each company's postings read and compared."""
    with engine.reading(session, tenant) as snapshot:
        if snapshot is not None:
            return collapse_duplicates(
                matches, k=k, duplicates_of=indexed_duplicates(snapshot, settings)
            )
    # No snapshot: the tenant had no documents when this worker looked (the database is read
    # outside the lock).
    company_of = {match.job_id: match.company for match in matches}
    groups: dict[str, Groups] = {}

    def stored(job_id: int) -> list[tuple[int, str | None]]:
        company = company_of[job_id]
        if company not in groups:
            groups[company] = company_duplicates(
                session, tenant=tenant, company=company, settings=settings
            )
        return groups[company].get(job_id, [])

    return collapse_duplicates(matches, k=k, duplicates_of=stored)


def collapse_duplicates(
    matches: list[JobMatch], *, k: int, duplicates_of: DuplicatesOf
) -> list[JobMatch]:
    """One entry per group of near-duplicate postings, the best-ranked, with `also_in` naming
    its near-duplicates among the company's open postings (direct pairs, not chains); the
    postings named are not shown again. Ranks renumbered, at most k entries."""
    shown: list[JobMatch] = []
    covered: set[int] = set()
    for match in matches:
        if match.job_id in covered:
            continue
        others = duplicates_of(match.job_id)
        covered.update(other for other, _ in others)
        shown.append(
            match.model_copy(
                update={
                    "rank": len(shown) + 1,
                    "also_in": [AlsoIn(job_id=other, city=city) for other, city in others],
                }
            )
        )
        if len(shown) == k:
            break
    return shown


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
        job_match(job, job_id=job.id, rank=rank, score=0.0, parts=zero)
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
    documents = explained_from(session, tenant, query)
    with timed(MATCH_SECONDS, direction="preview"), engine.reading(session, tenant) as snapshot:
        if request.job is not None:
            job = document_from_values("job", request.job.model_dump(exclude={"external_id"}))
            assert isinstance(job, JobDocument)
            matches = (
                snapshot.ranker.graduates_for_job(
                    job,
                    query.k,
                    filters=candidate_filters(query, "graduates"),
                    explain=query.explain,
                    documents=documents,
                )
                if snapshot is not None
                else []
            )
            return MatchPreview(
                graduates=GraduateMatches(
                    job_id=None,
                    index=index_info(snapshot) if snapshot else None,
                    matches=graduate_matches(snapshot, matches) if snapshot else [],
                )
            )
        assert request.graduate is not None
        graduate = document_from_values(
            "graduate", request.graduate.model_dump(exclude={"external_id"})
        )
        assert isinstance(graduate, GraduateDocument)
        found = (
            snapshot.ranker.jobs_for_graduate(
                graduate,
                query.k,
                filters=candidate_filters(query, "jobs"),
                explain=query.explain,
                documents=documents,
            )
            if snapshot is not None
            else []
        )
        return MatchPreview(
            jobs=JobMatches(
                graduate_id=None,
                index=index_info(snapshot) if snapshot else None,
                matches=job_matches(snapshot, found) if snapshot else [],
            )
        )
