"""Fixtures: a migrated database per backend (SQLite file, PostgreSQL schema) and an app whose
every test runs inside a transaction that is rolled back afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from app.db import create_db_engine, normalize_database_url
from app.main import create_app
from app.migrations import upgrade_database
from app.services.keys import create_key
from app.services.tenants import create_tenant
from app.settings import Settings
from app.tables import Tenant

POSTGRES_ENV = "JOBMATCH_TEST_DATABASE_URL"
SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"


def _postgres_url_with_schema(base_url: str, schema: str) -> str:
    url = make_url(normalize_database_url(base_url))
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """A new database migrated by Alembic: a SQLite file, or a private PostgreSQL schema."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'jobmatch.db'}"
        upgrade_database(url=url)
        yield url
        return
    base_url = os.environ.get(POSTGRES_ENV)
    if not base_url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL tests skipped")
    # A schema of our own: runs never see each other's tables or a stale migration.
    schema = f"jobmatch_test_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = _postgres_url_with_schema(base_url, schema)
        upgrade_database(url=url)
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The run's database per backend; most tests work inside a rolled-back transaction."""
    with fresh_database(request.param, tmp_path_factory.mktemp(request.param)) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def live_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the test's own whose commits are real (for several processes/threads)."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """One engine per backend for the whole run."""
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for the app under test: its own models/ folder."""
    return Settings(
        database_url=database_url,
        max_body_bytes=2 * 1024 * 1024,
        models_dir=tmp_path / "models",
    )


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker]:  # type: ignore[type-arg]
    """Sessions bound to one connection whose outer transaction is rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    yield factory
    outer.rollback()
    connection.close()


@pytest.fixture
def app(settings: Settings, engine: Engine, session_factory: sessionmaker) -> FastAPI:  # type: ignore[type-arg]
    """The application, its sessions inside the test's transaction."""
    return create_app(settings, engine=engine, session_factory=session_factory)


KeyHeaders = Callable[..., dict[str, str]]


def add_key(
    factory: sessionmaker,  # type: ignore[type-arg]
    *,
    role: str = "agency",
    tenant: str = "default",
    name: str = "",
) -> tuple[int, dict[str, str]]:
    """A new API key (its tenant created when missing): its id and the request headers."""
    with factory() as session:
        if session.get(Tenant, tenant) is None:
            create_tenant(session, tenant_id=tenant, display_name=tenant)
        created = create_key(session, tenant=tenant, role=role, name=name)
        session.commit()
        return created.record.id, {"Authorization": f"Bearer {created.secret}"}


def add_live_key(
    database_url: str, *, role: str = "agency", tenant: str = "default"
) -> dict[str, str]:
    """Request headers with a new key committed to a live database (for servers and apps
    that use their own engine)."""
    engine = create_db_engine(database_url)
    try:
        return add_key(sessionmaker(bind=engine), role=role, tenant=tenant)[1]
    finally:
        engine.dispose()


@pytest.fixture
def key_headers(session_factory: sessionmaker) -> KeyHeaders:  # type: ignore[type-arg]
    """`key_headers(role=..., tenant=...)`: headers of a new key, in the test's transaction."""

    def make(*, role: str = "agency", tenant: str = "default", name: str = "") -> dict[str, str]:
        return add_key(session_factory, role=role, tenant=tenant, name=name)[1]

    return make


@pytest.fixture
def client(app: FastAPI, key_headers: KeyHeaders) -> Iterator[TestClient]:
    """An HTTP client for the app, authenticated as the default tenant's agency."""
    with TestClient(app, headers=key_headers(role="agency")) as test_client:
        yield test_client
