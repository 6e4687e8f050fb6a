"""/v1/admin: the match index — its status, and a refit without downtime."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from app.api.deps import EngineDep, SessionDep, TenantDep, requires

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class IndexStatusOut(BaseModel):
    """The tenant's live match index."""

    tenant: str
    version: str | None = Field(description="Ranking version (folder under models/<tenant>/).")
    source: str | None = Field(description="fitted at start-up/refit, or loaded from models/.")
    fitted_at: datetime | None
    jobs: int = Field(description="Jobs in the index.")
    graduates: int = Field(description="Graduates in the index.")
    applied_change_id: int = Field(description="Newest write this worker has applied.")
    latest_change_id: int = Field(description="Newest write in the database.")
    pending_changes: int = Field(description="Writes not applied yet (applied on the next query).")
    changes_since_fit: int = Field(
        description="Writes since the vocabulary was fitted (indexed, but new words are unseen "
        "until a refit; a refit starts on its own past 20% of the documents)."
    )
    refit_running: bool
    last_refit_error: str | None


class RefitAccepted(BaseModel):
    """A refit request's outcome."""

    started: bool = Field(description="False when a refit was already running.")
    status: IndexStatusOut


@router.get("/index", summary="Status of the match index", dependencies=[requires("index:read")])
def index_status(session: SessionDep, tenant: TenantDep, engine: EngineDep) -> IndexStatusOut:
    """Version, document counts, fit time and pending changes of this worker's index."""
    return IndexStatusOut.model_validate(engine.status(session, tenant), from_attributes=True)


@router.post(
    "/refit",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Refit the match index",
    dependencies=[requires("index:refit")],
)
def refit(session: SessionDep, tenant: TenantDep, engine: EngineDep) -> RefitAccepted:
    """Fit a new version in the background and swap it in atomically; queries go on meanwhile."""
    started = engine.start_refit(tenant)
    status_now = IndexStatusOut.model_validate(engine.status(session, tenant), from_attributes=True)
    return RefitAccepted(started=started, status=status_now)
