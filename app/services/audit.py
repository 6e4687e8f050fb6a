"""The audit trail of personal data (PIPL): every read of contact data, export and erasure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.orm import Session

from app.auth.roles import Principal
from app.tables import AuditEvent, Graduate, utcnow


def record_contact_reads(
    session: Session, *, principal: Principal, graduates: Sequence[Graduate]
) -> None:
    """One event per graduate whose name, phone or e-mail the principal is shown."""
    shown = [g for g in graduates if g.name or g.phone or g.email]
    if not shown:
        return
    now = utcnow()
    session.execute(
        insert(AuditEvent),
        [
            {
                "tenant": graduate.tenant,
                "actor": principal.actor,
                "role": principal.role,
                "action": "read_contact",
                "entity": "graduate",
                "entity_id": graduate.id,
                "external_id": graduate.external_id,
                "detail": "",
                "occurred_at": now,
            }
            for graduate in shown
        ],
    )


def record_event(
    session: Session,
    *,
    principal: Principal,
    tenant: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    external_id: str | None = None,
    detail: str = "",
) -> None:
    """One audit event (an export or an erasure)."""
    session.add(
        AuditEvent(
            tenant=tenant,
            actor=principal.actor,
            role=principal.role,
            action=action,
            entity=entity,
            entity_id=entity_id,
            external_id=external_id,
            detail=detail,
            occurred_at=utcnow(),
        )
    )
    session.flush()


def list_events(
    session: Session,
    *,
    tenant: str,
    action: str | None,
    graduate_id: int | None,
    since: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[AuditEvent], int]:
    """A page of the tenant's audit events, newest first, and the total count."""
    conditions: list[ColumnElement[bool]] = [AuditEvent.tenant == tenant]
    if action is not None:
        conditions.append(AuditEvent.action == action)
    if graduate_id is not None:
        conditions.append(AuditEvent.entity == "graduate")
        conditions.append(AuditEvent.entity_id == graduate_id)
    if since is not None:
        conditions.append(AuditEvent.occurred_at >= since)
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    items = session.scalars(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(items), total
