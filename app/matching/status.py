"""What GET /v1/admin/index reports of one tenant's index in this worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.matching.change_log import count_changes, log_head
from app.matching.snapshot import IndexSnapshot


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """Version, counts, fit time and pending changes of a tenant's index."""

    tenant: str
    version: str | None
    source: str | None
    fitted_at: datetime | None
    jobs: int
    graduates: int
    applied_change_id: int
    latest_change_id: int
    pending_changes: int
    changes_since_fit: int
    refit_running: bool
    last_refit_error: str | None


def read_status(
    session: Session,
    tenant: str,
    *,
    snapshot: IndexSnapshot | None,
    applied_change_id: int,
    refit_running: bool,
    last_refit_error: str | None,
) -> IndexStatus:
    """The status of an index as the worker holds it, against the log in the database."""
    fitted_change_id = snapshot.fitted_change_id if snapshot else 0
    return IndexStatus(
        tenant=tenant,
        version=snapshot.version if snapshot else None,
        source=snapshot.source if snapshot else None,
        fitted_at=snapshot.fitted_at if snapshot else None,
        jobs=len(snapshot.jobs) if snapshot else 0,
        graduates=len(snapshot.graduates) if snapshot else 0,
        applied_change_id=applied_change_id,
        latest_change_id=log_head(session, tenant),
        pending_changes=count_changes(
            session, tenant, after=applied_change_id, documents_only=False
        ),
        changes_since_fit=count_changes(
            session, tenant, after=fitted_change_id, documents_only=True
        ),
        refit_running=refit_running,
        last_refit_error=last_refit_error,
    )
