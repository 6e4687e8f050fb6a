"""Database rows → ranking documents. Personal data (name, phone, e-mail) never crosses."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from app.ranking import GraduateDocument, JobDocument
from app.repositories import tenant_graduates, tenant_jobs
from app.tables import Graduate, Job

DocumentT = TypeVar("DocumentT", JobDocument, GraduateDocument)


def job_document(job: Job) -> JobDocument:
    """The ranking view of a stored job."""
    return JobDocument(
        id=job.id,
        title=job.title,
        company=job.company,
        city=job.city,
        district=job.district,
        industry=job.industry,
        education=job.education,
        experience=job.experience,
        majors=tuple(job.majors),
        skills=tuple(job.skills),
        description=job.description,
        salary_min=job.salary_min,
        salary_max=job.salary_max,
        headcount=job.headcount,
        status="open" if job.status == "open" else "closed",
    )


def graduate_document(graduate: Graduate) -> GraduateDocument:
    """The ranking view of a stored graduate: no name, phone or e-mail."""
    status = graduate.status
    return GraduateDocument(
        id=graduate.id,
        school=graduate.school,
        major=graduate.major,
        education=graduate.education,
        graduation_year=graduate.graduation_year,
        city=graduate.city,
        desired_cities=tuple(graduate.desired_cities),
        desired_roles=tuple(graduate.desired_roles),
        skills=tuple(graduate.skills),
        summary=graduate.summary,
        expected_salary=graduate.expected_salary,
        status="placed"
        if status == "placed"
        else "withdrawn"
        if status == "withdrawn"
        else "seeking",
    )


def document_from_values(kind: str, values: dict[str, Any]) -> JobDocument | GraduateDocument:
    """A document for an unsaved record (validated create-schema values), id 0."""
    if kind == "job":
        return job_document(Job(id=0, **values))
    return graduate_document(Graduate(id=0, **values))


@dataclass(slots=True)
class DatabaseDocuments:
    """The documents a served ranker explains with (`app.ranking.DocumentSource`): read from
    the tenant's rows when a request asks for explanations, so no worker holds every
    document's text beside its index. Each row is read at most once per instance (one
    request); a row gone since the index saw it (deleted, erased) is left out, and its match
    is returned unexplained.

    Make it before taking a tenant's index lock: the rows are read while the ranker is held
    (the candidates are known only once ranked), and the session's connection is taken here,
    so a lock holder never waits for the pool (see app.matching.engine's lock order)."""

    session: Session
    tenant: str
    _jobs: dict[int, JobDocument | None] = field(default_factory=dict)
    _graduates: dict[int, GraduateDocument | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.session.connection()

    def jobs(self, ids: Collection[int]) -> dict[int, JobDocument]:
        """The tenant's jobs of `ids` that exist."""
        return self._read(ids, self._jobs, tenant_jobs, job_document)

    def graduates(self, ids: Collection[int]) -> dict[int, GraduateDocument]:
        """The tenant's graduates of `ids` that exist."""
        return self._read(ids, self._graduates, tenant_graduates, graduate_document)

    def _read(
        self,
        ids: Collection[int],
        read: dict[int, DocumentT | None],
        rows_of: Callable[..., Sequence[Any]],
        document_of: Callable[[Any], DocumentT],
    ) -> dict[int, DocumentT]:
        """`ids` from the rows read so far (`read`, None for a row that is not there), the
        others read now in one query."""
        missing = [i for i in ids if i not in read]
        if missing:
            read.update(dict.fromkeys(missing))
            rows = rows_of(self.session, tenant=self.tenant, ids=missing)
            read.update((row.id, document_of(row)) for row in rows)
        return {i: doc for i in ids if (doc := read[i]) is not None}
