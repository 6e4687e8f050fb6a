"""/healthz: liveness and database reachability."""

from __future__ import annotations

import os

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import text

from app.api.deps import SessionDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Service status."""

    status: str
    database: str
    worker_pid: int = Field(description="Process id of the worker that answered.")


@router.get("/healthz", summary="Liveness and database check")
def healthz(session: SessionDep) -> Health:
    """`ok` when the service answers and the database accepts a query."""
    session.execute(text("SELECT 1"))
    return Health(status="ok", database=session.get_bind().dialect.name, worker_pid=os.getpid())
