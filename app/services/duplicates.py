"""Near-duplicate postings (same company, near-identical text, e.g. one job in several cities)
and profiles (same major, near-identical text), found with MinHash over ranking tokens."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ranking import Tokenizer
from app.ranking.duplicates import (
    NearDuplicates,
    duplicate_groups,
    duplicate_tokenizer,
    posting_text,
)
from app.settings import Settings
from app.tables import Graduate, Job


def _tokenizer() -> Tokenizer:
    return duplicate_tokenizer()


def _job_tokens(job: Job) -> list[str]:
    return _tokenizer().tokenize(posting_text(job.title, job.skills, job.description))


def _graduate_tokens(graduate: Graduate) -> list[str]:
    parts = [
        graduate.school or "",
        graduate.major or "",
        " ".join(graduate.skills),
        " ".join(graduate.desired_roles),
        graduate.summary,
    ]
    return _tokenizer().tokenize(" ".join(parts))


def _job_finder(jobs: Sequence[Job], settings: Settings) -> NearDuplicates[int]:
    finder: NearDuplicates[int] = NearDuplicates(
        threshold=settings.duplicate_threshold,
        title_overlap=settings.duplicate_title_overlap,
        min_tokens=settings.duplicate_min_tokens,
    )
    return finder.fit(
        [job.id for job in jobs],
        [_job_tokens(job) for job in jobs],
        blocks=[job.company for job in jobs],
        titles=[_tokenizer().tokenize(job.title) for job in jobs],
    )


def _graduate_finder(graduates: Sequence[Graduate], settings: Settings) -> NearDuplicates[int]:
    finder: NearDuplicates[int] = NearDuplicates(
        threshold=settings.duplicate_threshold, min_tokens=settings.duplicate_min_tokens
    )
    blocks: list[Hashable] = [graduate.major for graduate in graduates]
    return finder.fit(
        [graduate.id for graduate in graduates],
        [_graduate_tokens(graduate) for graduate in graduates],
        blocks=blocks,
    )


def duplicate_jobs(session: Session, *, job: Job, settings: Settings) -> list[tuple[Job, float]]:
    """The tenant's postings of the same company whose text is near-identical to this one."""
    others = session.scalars(
        select(Job)
        .where(Job.tenant == job.tenant, Job.company == job.company, Job.id != job.id)
        .order_by(Job.id)
    ).all()
    if not others:
        return []
    by_id = {other.id: other for other in others}
    found = _job_finder([job, *others], settings).similar_to(0)
    return [(by_id[job_id], similarity) for job_id, similarity in found]


def duplicate_graduates(
    session: Session, *, graduate: Graduate, settings: Settings
) -> list[tuple[Graduate, float]]:
    """The tenant's profiles of the same major whose text is near-identical to this one."""
    same_major = (
        Graduate.major == graduate.major if graduate.major is not None else Graduate.major.is_(None)
    )
    others = session.scalars(
        select(Graduate)
        .where(Graduate.tenant == graduate.tenant, same_major, Graduate.id != graduate.id)
        .order_by(Graduate.id)
    ).all()
    if not others:
        return []
    by_id = {other.id: other for other in others}
    found = _graduate_finder([graduate, *others], settings).similar_to(0)
    return [(by_id[graduate_id], similarity) for graduate_id, similarity in found]


def duplicate_groups_among(
    session: Session,
    table: type[Job] | type[Graduate],
    *,
    tenant: str,
    ids: Sequence[int],
    settings: Settings,
) -> list[list[int]]:
    """Groups of near-duplicates (ids, each group sorted) that include any of `ids`: the
    records written by an import, compared with every record of their companies or majors."""
    if not ids:
        return []
    wanted = set(ids)
    if table is Job:
        companies = set(session.scalars(select(Job.company).where(Job.id.in_(wanted))))
        jobs = session.scalars(
            select(Job).where(Job.tenant == tenant, Job.company.in_(companies)).order_by(Job.id)
        ).all()
        pairs = _job_finder(jobs, settings).pairs()
    else:
        majors = set(session.scalars(select(Graduate.major).where(Graduate.id.in_(wanted))))
        graduates = session.scalars(
            select(Graduate)
            .where(Graduate.tenant == tenant, Graduate.major.in_(majors))
            .order_by(Graduate.id)
        ).all()
        pairs = _graduate_finder(graduates, settings).pairs()
    return [group for group in duplicate_groups(pairs) if wanted.intersection(group)]


def company_duplicates(
    session: Session, *, tenant: str, company: str, settings: Settings
) -> dict[int, list[tuple[int, str | None]]]:
    """For each of a company's open postings that has near-duplicates among the others: those
    others as (id, city), in id order. Direct pairs only: a chain of near-duplicates can link
    postings that are not near-identical themselves. Plain values, so a caller can keep them
    past the session (the finder blocks by company, so each company's pairs stand alone)."""
    jobs = session.scalars(
        select(Job)
        .where(Job.tenant == tenant, Job.company == company, Job.status == "open")
        .order_by(Job.id)
    ).all()
    city = {job.id: job.city for job in jobs}
    neighbours: dict[int, set[int]] = {}
    for pair in _job_finder(jobs, settings).pairs():
        neighbours.setdefault(pair.first, set()).add(pair.second)
        neighbours.setdefault(pair.second, set()).add(pair.first)
    return {
        job_id: [(other, city[other]) for other in sorted(others)]
        for job_id, others in neighbours.items()
    }
