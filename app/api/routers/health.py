"""/healthz: liveness and database reachability."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from app.api.deps import SessionDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Service status."""

    status: str
    database: str


@router.get("/healthz", summary="Liveness and database check")
def healthz(session: SessionDep) -> Health:
    """`ok` when the service answers and the database accepts a query."""
    session.execute(text("SELECT 1"))
    return Health(status="ok", database=session.get_bind().dialect.name)
