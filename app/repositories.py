"""Tenant-scoped lookups of jobs, graduates and requisitions: one function per lookup, used by
every service and command, so no caller can forget the tenant condition.

A row of another tenant is reported exactly like a missing one (404), never as forbidden:
its existence is none of the caller's business.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, select
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


Conditions = Sequence[ColumnElement[bool]]


def _select_in_tenant(
    table: type[Job] | type[Graduate],
    what: Any,
    *,
    tenant: str,
    ids: Collection[int] | None,
    where: Conditions,
) -> Select[Any]:
    conditions = [table.tenant == tenant, *where]
    if ids is not None:
        conditions.append(table.id.in_(list(ids)))
    return select(what).where(*conditions).order_by(table.id)


def tenant_jobs(
    session: Session, *, tenant: str, ids: Collection[int] | None = None, where: Conditions = ()
) -> list[Job]:
    """The tenant's jobs in id order: all, or those of `ids`, meeting every `where` condition."""
    query = _select_in_tenant(Job, Job, tenant=tenant, ids=ids, where=where)
    return list(session.scalars(query))


def tenant_graduates(
    session: Session, *, tenant: str, ids: Collection[int] | None = None, where: Conditions = ()
) -> list[Graduate]:
    """The tenant's graduates in id order: all, or those of `ids`, meeting every `where`."""
    query = _select_in_tenant(Graduate, Graduate, tenant=tenant, ids=ids, where=where)
    return list(session.scalars(query))


def tenant_job_ids(
    session: Session, *, tenant: str, ids: Collection[int] | None = None, where: Conditions = ()
) -> list[int]:
    """The ids of the tenant's jobs (of `ids`, when given) meeting every `where`, in order."""
    query = _select_in_tenant(Job, Job.id, tenant=tenant, ids=ids, where=where)
    return list(session.scalars(query))


def tenant_graduate_ids(
    session: Session, *, tenant: str, ids: Collection[int] | None = None, where: Conditions = ()
) -> list[int]:
    """The ids of the tenant's graduates (of `ids`, when given) meeting every `where`, in order."""
    query = _select_in_tenant(Graduate, Graduate.id, tenant=tenant, ids=ids, where=where)
    return list(session.scalars(query))


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
