"""Graduate profile services."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app import repositories
from app.schemas.graduates import GraduateCreate, GraduateUpdate
from app.services import records
from app.tables import Graduate


def list_graduates(
    session: Session, *, tenant: str, filters: records.RecordFilters, limit: int, offset: int
) -> tuple[list[Graduate], int]:
    """A page of the tenant's graduates matching the filters, and the total count."""
    return records.list_records(
        session,
        Graduate,
        tenant=tenant,
        filters=filters,
        text_columns=(Graduate.major, Graduate.school),
        limit=limit,
        offset=offset,
    )


def get_graduate(session: Session, *, tenant: str, graduate_id: int) -> Graduate:
    """The tenant's graduate, else NotFoundError."""
    return repositories.get_graduate(session, tenant=tenant, graduate_id=graduate_id)


def create_graduate(session: Session, *, tenant: str, data: GraduateCreate) -> Graduate:
    """Create a graduate profile."""
    return records.create_record(session, Graduate, tenant=tenant, data=data)


def update_graduate(session: Session, *, graduate: Graduate, data: GraduateUpdate) -> Graduate:
    """Apply a partial update."""
    return records.update_record(session, graduate, changes=data.model_dump(exclude_unset=True))


def delete_graduate(session: Session, *, graduate: Graduate) -> None:
    """Delete a graduate profile."""
    records.delete_record(session, graduate)
