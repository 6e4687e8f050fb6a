"""/v1/jobs: create, read, update, delete, list and bulk-upsert job postings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from app.api.deps import (
    CityQuery,
    EducationQuery,
    EngineDep,
    GraduateMatchQueryDep,
    JobDep,
    JobIdPath,
    JsonArrayDep,
    PageDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    TenantDep,
    TextQuery,
    bulk_request_body,
    requires,
    valid_job,
)
from app.schemas.common import BulkResponse, Page
from app.schemas.duplicates import DuplicateJob, JobDuplicates
from app.schemas.jobs import (
    ComplianceFlag,
    JobCompliance,
    JobCreate,
    JobPublic,
    JobUpdate,
)
from app.schemas.matches import GraduateMatches
from app.services import jobs as job_service
from app.services import matching
from app.services.bulk import bulk_upsert
from app.services.duplicates import duplicate_jobs
from app.services.records import RecordFilters
from app.tables import Job
from app.vocabulary import JobStatus

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("", summary="List job postings", dependencies=[requires("jobs:read")])
def list_jobs(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    city: CityQuery = None,
    education: EducationQuery = None,
    status: Annotated[JobStatus | None, Query(description="open or closed.")] = None,
    q: Annotated[TextQuery, Query(description="Substring of title or company.")] = None,
    flagged: Annotated[
        bool | None,
        Query(description="true: only postings with compliance flags; false: only those without."),
    ] = None,
) -> Page[JobPublic]:
    """Job postings matching every filter given, ordered by id (an employer's own only)."""
    filters = RecordFilters(city=city, education=education, status=status, q=q, flagged=flagged)
    items, total = job_service.list_jobs(
        session,
        tenant=principal.tenant,
        filters=filters,
        limit=page.limit,
        offset=page.offset,
        owner_key_id=principal.owner_key_id,
    )
    return page.of([JobPublic.model_validate(job) for job in items], total)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a job posting",
    dependencies=[requires("jobs:write")],
)
def create_job(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep, data: JobCreate
) -> JobPublic:
    """Store a new posting; its external_id must be new for the tenant (409 otherwise).
    Forbidden conditions are flagged, or refused with 422 when JOBMATCH_COMPLIANCE_MODE=reject.
    An employer key owns the postings it creates."""
    job = job_service.create_job(
        session,
        tenant=principal.tenant,
        data=data,
        compliance_mode=settings.compliance_mode,
        owner_key_id=principal.owner_key_id,
    )
    return JobPublic.model_validate(job)


@router.post(
    "/bulk",
    summary="Upsert job postings by external_id (at most JOBMATCH_MAX_BULK_RECORDS)",
    openapi_extra=bulk_request_body("JobCreate"),
    dependencies=[requires("jobs:bulk")],
)
def bulk_upsert_jobs(
    session: SessionDep, tenant: TenantDep, settings: SettingsDep, raw: JsonArrayDep
) -> BulkResponse:
    """Create or update each posting; invalid ones fail alone with the field named."""
    return bulk_upsert(
        session,
        Job,
        JobCreate,
        tenant=tenant,
        raw_records=raw,
        compliance_mode=settings.compliance_mode,
    )


@router.get(
    "/{job_id:int}/matches",
    summary="Graduates who fit this job best",
    dependencies=[requires("jobs:read"), Depends(valid_job)],
)
def match_graduates(
    session: SessionDep,
    tenant: TenantDep,
    engine: EngineDep,
    job_id: JobIdPath,
    query: GraduateMatchQueryDep,
) -> GraduateMatches:
    """Ranked graduates with sub-scores; `explain=true` adds the words and filters behind each."""
    return matching.graduates_for_job(session, engine, tenant=tenant, job_id=job_id, query=query)


@router.get(
    "/{job_id:int}/compliance",
    summary="Forbidden conditions found in this posting",
    dependencies=[requires("jobs:read")],
)
def read_compliance(job: JobDep) -> JobCompliance:
    """Each flag: the rule, the field, the words found and why the rules forbid them."""
    flags = [ComplianceFlag.model_validate(flag) for flag in job.compliance_flags]
    return JobCompliance(job_id=job.id, flagged=bool(flags), flags=flags)


@router.get(
    "/{job_id:int}/duplicates",
    summary="Near-identical postings of the same company",
    dependencies=[requires("jobs:review")],
)
def read_duplicates(session: SessionDep, settings: SettingsDep, job: JobDep) -> JobDuplicates:
    """Postings of the same company whose text is near-identical (e.g. one job in several
    cities), by MinHash of word shingles."""
    found = duplicate_jobs(session, job=job, settings=settings)
    return JobDuplicates(
        job_id=job.id,
        duplicates=[
            DuplicateJob(
                job_id=other.id,
                external_id=other.external_id,
                title=other.title,
                city=other.city,
                status=other.status,
                similarity=round(similarity, 4),
            )
            for other, similarity in found
        ],
    )


@router.get("/{job_id:int}", summary="Read a job posting", dependencies=[requires("jobs:read")])
def read_job(job: JobDep) -> JobPublic:
    """One posting by id."""
    return JobPublic.model_validate(job)


@router.patch(
    "/{job_id:int}", summary="Update a job posting", dependencies=[requires("jobs:write")]
)
def update_job(
    session: SessionDep, settings: SettingsDep, job: JobDep, data: JobUpdate
) -> JobPublic:
    """Change the fields sent; the others stay as they are. The flags are re-checked."""
    updated = job_service.update_job(
        session, job=job, data=data, compliance_mode=settings.compliance_mode
    )
    return JobPublic.model_validate(updated)


@router.delete(
    "/{job_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a job posting",
    dependencies=[requires("jobs:write")],
)
def delete_job(session: SessionDep, job: JobDep) -> None:
    """Remove a posting."""
    job_service.delete_job(session, job=job)
