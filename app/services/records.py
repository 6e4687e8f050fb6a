"""Operations shared by every tenant-owned table: get, list page, update, delete, bulk upsert."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.errors import ConflictError
from app.tables import Graduate, IndexChange, Job, utcnow

RecordT = TypeVar("RecordT", Job, Graduate)
TenantTable = type[Job] | type[Graduate]
"""A table whose rows belong to a tenant and carry an external_id."""


@dataclass(frozen=True, slots=True)
class UpsertOutcome:
    """What an upsert did with one valid record."""

    external_id: str
    status: Literal["created", "updated"]
    id: int


@dataclass(frozen=True, slots=True)
class RecordFilters:
    """List filters shared by jobs and graduates; None means no filter."""

    city: str | None = None
    education: str | None = None
    status: str | None = None
    q: str | None = None
    # Jobs only: True keeps postings with compliance flags, False those without.
    flagged: bool | None = None


def list_records(
    session: Session,
    table: type[RecordT],
    *,
    tenant: str,
    filters: RecordFilters,
    text_columns: Sequence[InstrumentedAttribute[Any]],
    limit: int,
    offset: int,
    where: Sequence[ColumnElement[bool]] = (),
) -> tuple[list[RecordT], int]:
    """One page of the tenant's records matching the filters (`q` searches text_columns) and
    any further `where` conditions."""
    conditions: list[ColumnElement[bool]] = [table.tenant == tenant, *where]
    if filters.city:
        conditions.append(table.city == filters.city)
    if filters.education:
        conditions.append(table.education == filters.education)
    if filters.status:
        conditions.append(table.status == filters.status)
    if filters.flagged is not None and table is Job:
        conditions.append(Job.flag_count > 0 if filters.flagged else Job.flag_count == 0)
    if filters.q:
        # autoescape: `%` and `_` in the query are literal characters, not LIKE wildcards.
        conditions.append(
            or_(*(column.icontains(filters.q, autoescape=True) for column in text_columns))
        )
    query: Select[RecordT] = select(table).where(*conditions)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(query.order_by(table.id).limit(limit).offset(offset)).all()
    return list(items), total


def _check_external_id_free(
    session: Session, table: TenantTable, *, tenant: str, external_id: str
) -> None:
    taken = session.scalar(
        select(table.id).where(table.tenant == tenant, table.external_id == external_id)
    )
    if taken is not None:
        raise ConflictError(
            f"external_id {external_id!r} is already used by {table.__tablename__[:-1]} {taken}",
            details=[{"field": "external_id", "message": "already exists"}],
        )


def record_changes(
    session: Session, table: TenantTable, *, tenant: str, record_ids: Sequence[int]
) -> None:
    """Log writes in the same transaction, so every worker's match index can catch up."""
    if not record_ids:
        return
    entity = "job" if table is Job else "graduate"
    now = utcnow()
    session.execute(
        insert(IndexChange),
        [
            {"tenant": tenant, "entity": entity, "entity_id": record_id, "created_at": now}
            for record_id in record_ids
        ],
    )


def create_record(
    session: Session,
    table: type[RecordT],
    *,
    tenant: str,
    data: BaseModel,
    derived: Mapping[str, Any] | None = None,
) -> RecordT:
    """Insert a record from a validated create schema (plus `derived` column values, such as
    compliance flags); a taken external_id is a conflict."""
    values = {**data.model_dump(), **(derived or {})}
    _check_external_id_free(session, table, tenant=tenant, external_id=values["external_id"])
    record = table(tenant=tenant, **values)
    session.add(record)
    session.flush()
    record_changes(session, table, tenant=tenant, record_ids=[record.id])
    return record


def update_record(session: Session, record: RecordT, *, changes: Mapping[str, Any]) -> RecordT:
    """Apply the given field changes to a record."""
    new_external_id = changes.get("external_id")
    if new_external_id is not None and new_external_id != record.external_id:
        _check_external_id_free(
            session, type(record), tenant=record.tenant, external_id=new_external_id
        )
    for field, value in changes.items():
        setattr(record, field, value)
    record.updated_at = utcnow()
    session.flush()
    record_changes(session, type(record), tenant=record.tenant, record_ids=[record.id])
    return record


def delete_record(session: Session, record: Job | Graduate) -> None:
    """Delete a record."""
    session.delete(record)
    session.flush()
    record_changes(session, type(record), tenant=record.tenant, record_ids=[record.id])


def upsert_records(
    session: Session,
    table: TenantTable,
    *,
    tenant: str,
    records: Sequence[BaseModel],
    derived: Sequence[Mapping[str, Any]] | None = None,
) -> list[UpsertOutcome]:
    """Insert or update valid records by external_id, in bulk; external_ids must be distinct.
    `derived`: extra column values for each record, in the same order."""
    if not records:
        return []
    rows = [record.model_dump() for record in records]
    if derived is not None:
        rows = [{**row, **extra} for row, extra in zip(rows, derived, strict=True)]
    external_ids = [row["external_id"] for row in rows]
    existing: dict[str, int] = {
        row.external_id: row.id
        for row in session.execute(
            select(table.external_id, table.id).where(
                table.tenant == tenant, table.external_id.in_(external_ids)
            )
        )
    }
    now = utcnow()
    inserts = [
        {**row, "tenant": tenant, "created_at": now, "updated_at": now}
        for row in rows
        if row["external_id"] not in existing
    ]
    updates = [
        {**row, "id": existing[row["external_id"]], "updated_at": now}
        for row in rows
        if row["external_id"] in existing
    ]
    try:
        # A savepoint, so a lost race leaves the caller's transaction usable.
        with session.begin_nested():
            created_ids = (
                list(
                    session.scalars(
                        insert(table).returning(table.id, sort_by_parameter_order=True), inserts
                    )
                )
                if inserts
                else []
            )
            if updates:
                session.execute(update(table), updates)
    except IntegrityError as exc:
        # Another writer inserted one of these external_ids meanwhile: safe to retry.
        raise ConflictError("a concurrent write took one of these external_ids; retry") from exc
    created = dict(zip((row["external_id"] for row in inserts), created_ids, strict=True))
    record_changes(
        session, table, tenant=tenant, record_ids=[*created_ids, *(row["id"] for row in updates)]
    )
    return [
        UpsertOutcome(eid, "updated", existing[eid])
        if eid in existing
        else UpsertOutcome(eid, "created", created[eid])
        for eid in external_ids
    ]
