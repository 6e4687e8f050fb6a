"""/v1/admin/audit and /v1/admin/tenants: the personal-data audit trail and the tenants, for
admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.api.deps import PageDep, SessionDep, TenantDep, requires
from app.schemas.common import Page
from app.services import audit as audit_service
from app.services import tenants as tenant_service
from app.tables import AUDIT_ACTIONS

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class AuditEventPublic(BaseModel):
    """One access to personal data: who, what, which record, when."""

    model_config = {"from_attributes": True}

    id: int
    tenant: str
    actor: str = Field(description="The key (id and name), or `cli:<user>` / `local (auth off)`.")
    role: str
    action: str = Field(description=" / ".join(AUDIT_ACTIONS))
    entity: str
    entity_id: int | None
    external_id: str | None
    detail: str
    occurred_at: datetime


class TenantPublic(BaseModel):
    """An agency sharing the service."""

    model_config = {"from_attributes": True}

    id: str
    display_name: str
    created_at: datetime


@router.get(
    "/audit",
    summary="Audit trail of personal data (contact reads, exports, erasures)",
    dependencies=[requires("audit:read")],
)
def list_audit_events(
    session: SessionDep,
    tenant: TenantDep,
    page: PageDep,
    action: Annotated[
        str | None, Query(pattern=f"^({'|'.join(AUDIT_ACTIONS)})$", description="Only this action.")
    ] = None,
    graduate_id: Annotated[int | None, Query(ge=1, description="Only this graduate.")] = None,
    since: Annotated[
        datetime | None, Query(description="Only events at or after this time.")
    ] = None,
) -> Page[AuditEventPublic]:
    """The tenant's events (X-Tenant chooses the tenant), newest first."""
    items, total = audit_service.list_events(
        session,
        tenant=tenant,
        action=action,
        graduate_id=graduate_id,
        since=since,
        limit=page.limit,
        offset=page.offset,
    )
    return page.of([AuditEventPublic.model_validate(item) for item in items], total)


@router.get("/tenants", summary="List tenants", dependencies=[requires("tenants:read")])
def list_tenants(session: SessionDep) -> list[TenantPublic]:
    """Every tenant (agency); `jobmatch tenants create` adds one."""
    return [TenantPublic.model_validate(t) for t in tenant_service.list_tenants(session)]
