"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from app import __version__
from app.api.errors import install_error_handlers
from app.api.middleware import BodySizeLimit
from app.api.routers import graduates, health, jobs
from app.db import create_db_engine, create_session_factory
from app.settings import Settings, get_settings

DESCRIPTION = """
jobmatch matches Chinese graduates to job postings: jieba tokens, TF-IDF cosine and
structured fit (major, education, city, salary), every pick explained.

All records belong to a tenant (the staffing agency), chosen with the `X-Tenant` header
(default `default`). Errors always have the shape
`{"error": {"code": "...", "message": "...", "fields": [{"field": "...", "message": "..."}]}}`.
"""


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the application; `engine` lets tests share one connection pool."""
    settings = settings or get_settings()
    logging.getLogger().setLevel(settings.log_level)
    owns_engine = engine is None
    engine = engine or create_db_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_engine:
            engine.dispose()

    app = FastAPI(
        title="jobmatch",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(health.router)
    app.include_router(jobs.router)
    app.include_router(graduates.router)
    return app
