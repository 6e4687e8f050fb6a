"""/healthz (the process is alive) and /readyz (it can serve: database, schema, index)."""

from __future__ import annotations

import os

import anyio
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from app.api.deps import EngineDep, SettingsDep
from app.services.readiness import Readiness, check_readiness

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The process answers."""

    status: str
    database: str = Field(description="The configured backend (not contacted).")
    worker_pid: int = Field(description="Process id of the worker that answered.")


class ReadinessOut(BaseModel):
    """Whether this worker can serve, and each check's outcome."""

    status: str = Field(description="ready or not_ready.")
    checks: dict[str, str] = Field(description="database, migrations, index: ok or why not.")
    worker_pid: int


@router.get("/healthz", summary="Liveness: the process answers (no database contact)")
async def healthz(request: Request) -> Health:
    """`ok` whenever the worker's event loop runs, whatever state the database is in."""
    backend = request.app.state.engine.dialect.name
    return Health(status="ok", database=backend, worker_pid=os.getpid())


@router.get(
    "/readyz",
    summary="Readiness: database answers, schema at head, index loaded and current",
    responses={503: {"model": ReadinessOut, "description": "Not ready; see checks."}},
)
async def readyz(
    request: Request, response: Response, engine: EngineDep, settings: SettingsDep
) -> ReadinessOut:
    """200 when every check passes within the readiness timeout, else 503 with Retry-After."""
    factory: sessionmaker[Session] = request.app.state.session_factory

    def check() -> Readiness:
        with factory() as session:
            try:
                return check_readiness(session, engine)
            except (OperationalError, SQLAlchemyTimeoutError) as exc:
                return Readiness(checks={"database": str(exc).splitlines()[0]})

    readiness = Readiness(checks={"database": f"no answer within {settings.readiness_timeout_s} s"})
    with anyio.move_on_after(settings.readiness_timeout_s):
        # A check stuck on a frozen database is abandoned (its connection's own deadline
        # ends it later); one token, so stuck checks never pile up in the thread pool.
        readiness = await anyio.to_thread.run_sync(
            check, abandon_on_cancel=True, limiter=request.app.state.readiness_limiter
        )
    if not readiness.ready:
        response.status_code = 503
        response.headers["Retry-After"] = str(settings.retry_after_s)
    return ReadinessOut(
        status="ready" if readiness.ready else "not_ready",
        checks=readiness.checks,
        worker_pid=os.getpid(),
    )
