"""Fixtures: a migrated database per backend (SQLite file, PostgreSQL schema) and an app whose
every test runs inside a transaction that is rolled back afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from app.db import create_db_engine
from app.main import create_app
from app.settings import Settings
from tests.support import BACKENDS, KeyHeaders, add_key, fresh_database


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The run's database per backend; most tests work inside a rolled-back transaction."""
    with fresh_database(request.param, tmp_path_factory.mktemp(request.param)) as url:
        yield url


@pytest.fixture(params=BACKENDS)
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
