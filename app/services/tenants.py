"""Tenants (agencies) as records: created by an admin, never derived from request text."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import ConflictError, NotFoundError, ValidationFailed
from app.tables import Tenant
from app.tenant_paths import TENANT_ID_PATTERN, is_valid_tenant_id


def create_tenant(session: Session, *, tenant_id: str, display_name: str) -> Tenant:
    """A new tenant; its id must match the tenant id pattern and be unused."""
    if not is_valid_tenant_id(tenant_id):
        raise ValidationFailed(
            f"tenant id {tenant_id!r} does not match {TENANT_ID_PATTERN}",
            details=[{"field": "id", "message": f"must match {TENANT_ID_PATTERN}"}],
        )
    if session.get(Tenant, tenant_id) is not None:
        raise ConflictError(f"tenant {tenant_id!r} already exists")
    tenant = Tenant(id=tenant_id, display_name=display_name.strip() or tenant_id)
    session.add(tenant)
    session.flush()
    return tenant


def get_tenant(session: Session, *, tenant_id: str) -> Tenant:
    """The tenant with this id, else NotFoundError."""
    tenant = session.get(Tenant, tenant_id) if is_valid_tenant_id(tenant_id) else None
    if tenant is None:
        raise NotFoundError(f"tenant {tenant_id!r} not found")
    return tenant


def list_tenants(session: Session) -> list[Tenant]:
    """Every tenant, by id."""
    return list(session.scalars(select(Tenant).order_by(Tenant.id)))
