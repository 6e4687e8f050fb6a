"""Job posting services."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app import repositories
from app.errors import NotFoundError
from app.schemas.jobs import JobCreate, JobUpdate, check_salary_range
from app.services import records
from app.services.compliance import CHECKED_FIELDS, ComplianceMode, screen_posting
from app.tables import Job


def list_jobs(
    session: Session,
    *,
    tenant: str,
    filters: records.RecordFilters,
    limit: int,
    offset: int,
    owner_key_id: int | None = None,
) -> tuple[list[Job], int]:
    """A page of the tenant's jobs matching the filters (only those `owner_key_id` created,
    when given), and the total count."""
    return records.list_records(
        session,
        Job,
        tenant=tenant,
        filters=filters,
        text_columns=(Job.title, Job.company),
        limit=limit,
        offset=offset,
        where=() if owner_key_id is None else (Job.owner_key_id == owner_key_id,),
    )


def get_job(session: Session, *, tenant: str, job_id: int, owner_key_id: int | None = None) -> Job:
    """The tenant's job (created by `owner_key_id`, when given), else NotFoundError."""
    job = repositories.get_job(session, tenant=tenant, job_id=job_id)
    if owner_key_id is not None and job.owner_key_id != owner_key_id:
        raise NotFoundError(f"job {job_id} not found")
    return job


def create_job(
    session: Session,
    *,
    tenant: str,
    data: JobCreate,
    compliance_mode: ComplianceMode = "flag",
    owner_key_id: int | None = None,
) -> Job:
    """Create a job posting, its compliance flags recorded (or a 422 in reject mode), owned by
    the employer key `owner_key_id` when given."""
    flags = screen_posting(data.model_dump(), mode=compliance_mode)
    owner = {} if owner_key_id is None else {"owner_key_id": owner_key_id}
    return records.create_record(session, Job, tenant=tenant, data=data, derived=flags | owner)


def update_job(
    session: Session, *, job: Job, data: JobUpdate, compliance_mode: ComplianceMode = "flag"
) -> Job:
    """Apply a partial update, keeping the salary range ordered across old and new values and
    the compliance flags those of the posting as it now reads."""
    changes = data.model_dump(exclude_unset=True)
    check_salary_range(
        changes.get("salary_min", job.salary_min), changes.get("salary_max", job.salary_max)
    )
    merged = {field: changes.get(field, getattr(job, field)) for field in CHECKED_FIELDS}
    changes.update(screen_posting(merged, mode=compliance_mode))
    return records.update_record(session, job, changes=changes)


def delete_job(session: Session, *, job: Job) -> None:
    """Delete a job posting."""
    records.delete_record(session, job)
