"""Tenant-scoped lookups of jobs, graduates and requisitions: one function per lookup, used by
every service and command, so no caller can forget the tenant condition.

A row of another tenant is reported exactly like a missing one (404), never as forbidden:
its existence is none of the caller's business.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from app.errors import NotFoundError
from app.tables import Graduate, Job, Requisition

RowT = TypeVar("RowT", Job, Graduate, Requisition)


def get_in_tenant(session: Session, table: type[RowT], *, tenant: str, row_id: int) -> RowT:
    """The tenant's row of `table` with this id, else NotFoundError (404)."""
    row = session.get(table, row_id)
    if row is None or row.tenant != tenant:
        raise NotFoundError(f"{table.__tablename__[:-1]} {row_id} not found")
    return row


def get_job(session: Session, *, tenant: str, job_id: int) -> Job:
    """The tenant's job, else 404."""
    return get_in_tenant(session, Job, tenant=tenant, row_id=job_id)


def get_graduate(session: Session, *, tenant: str, graduate_id: int) -> Graduate:
    """The tenant's graduate, else 404."""
    return get_in_tenant(session, Graduate, tenant=tenant, row_id=graduate_id)


def get_requisition(session: Session, *, tenant: str, requisition_id: int) -> Requisition:
    """The tenant's requisition, else 404."""
    return get_in_tenant(session, Requisition, tenant=tenant, row_id=requisition_id)


def tenant_jobs(
    session: Session,
    *,
    tenant: str,
    ids: Collection[int] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> list[Job]:
    """The tenant's jobs in id order: all, or those of `ids`, meeting every `where` condition."""
    conditions = [Job.tenant == tenant, *where]
    if ids is not None:
        conditions.append(Job.id.in_(list(ids)))
    return list(session.scalars(select(Job).where(*conditions).order_by(Job.id)))


def tenant_graduates(
    session: Session,
    *,
    tenant: str,
    ids: Collection[int] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> list[Graduate]:
    """The tenant's graduates in id order: all, or those of `ids`, meeting every `where`."""
    conditions = [Graduate.tenant == tenant, *where]
    if ids is not None:
        conditions.append(Graduate.id.in_(list(ids)))
    return list(session.scalars(select(Graduate).where(*conditions).order_by(Graduate.id)))


def tenant_graduate_ids(
    session: Session, *, tenant: str, where: Sequence[ColumnElement[bool]] = ()
) -> list[int]:
    """The ids of the tenant's graduates meeting every `where` condition, in order."""
    conditions = [Graduate.tenant == tenant, *where]
    return list(session.scalars(select(Graduate.id).where(*conditions).order_by(Graduate.id)))


def tenant_job_ids(session: Session, *, tenant: str, ids: Collection[int]) -> set[int]:
    """Which of `ids` are jobs of the tenant."""
    return set(session.scalars(select(Job.id).where(Job.tenant == tenant, Job.id.in_(list(ids)))))


def job_id_by_external_id(session: Session, *, tenant: str, external_id: str) -> int | None:
    """The id of the tenant's job with this external id, or None."""
    return session.scalar(
        select(Job.id).where(Job.tenant == tenant, Job.external_id == external_id)
    )


def tenants_with_documents(session: Session) -> list[str]:
    """Every tenant id that has a job or a graduate, sorted."""
    return sorted(
        set(session.scalars(select(Job.tenant).distinct()))
        | set(session.scalars(select(Graduate.tenant).distinct()))
    )
