"""Test helpers that run the real thing: servers, CLI commands, re-rank runs, error bodies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.batch.rerank import (
    ChunkExecutor,
    LocalExecutor,
    RerankInputs,
    RerankOptions,
    load_inputs,
    run_rerank,
)
from app.benchmarks.load_server import running_server as serve_in_background
from app.cli import main
from app.db import create_db_engine, create_session_factory, normalize_database_url
from app.migrations import upgrade_database
from app.services.keys import create_key
from app.services.tenants import create_tenant
from app.settings import Settings
from app.tables import MatchRun, Tenant

Factory = sessionmaker[Session]

POSTGRES_ENV = "JOBMATCH_TEST_DATABASE_URL"
SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"
# Each database backend the API tests run on; PostgreSQL ones carry the `postgres` marker.
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


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


KeyHeaders = Callable[..., dict[str, str]]


def statements_seen(engine: Engine | Connection, marker: str = "") -> list[str]:
    """A list that grows with every statement the engine runs containing `marker` (every
    statement when it is empty): what was read from the database, counted without mocking it."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if marker in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen


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


def read_shared_jsonl(relative: str, limit: int, step: int = 1) -> list[dict[str, object]]:
    """Every step-th record of a ../shared JSONL file, or skip the test when it is absent."""
    path = SHARED_DIR / relative
    if not path.exists():
        pytest.skip(f"{path} is absent: shared data not available on this machine")
    records: list[dict[str, object]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if number % step == 0:
                records.append(json.loads(line))
                if len(records) >= limit:
                    break
    return records


@contextmanager
def running_server(
    database_url: str, port: int, folder: Path, workers: int = 1
) -> Iterator[subprocess.Popen[bytes]]:
    """`jobmatch serve` in a child process group on loopback, until the block ends."""
    with serve_in_background(database_url, folder, workers=workers, port=port) as (_, process):
        yield process


def error_fields(response: Any) -> list[str]:
    """The `field` of each entry of an error body's fields."""
    return [field["field"] for field in response.json()["error"].get("fields", [])]


IMPORT_TENANT = "import-test"


def run_import(
    kind: str, path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """`jobmatch import KIND PATH` into IMPORT_TENANT in batches of 2: exit code and output."""
    code = main(
        [
            "import",
            kind,
            str(path),
            "--tenant",
            IMPORT_TENANT,
            "--database-url",
            database_url,
            "--batch-size",
            "2",
        ]
    )
    return code, capsys.readouterr().out


RERANK_OPTIONS = RerankOptions(k=8, pool=8, chunk_rows=16)


def rerank(
    factory: Factory,
    settings: Settings,
    *,
    options: RerankOptions = RERANK_OPTIONS,
    executor: ChunkExecutor | None = None,
    resume: int | None = None,
    inputs: RerankInputs | None = None,
) -> int:
    """One re-rank run of the default tenant, in process; returns its id."""
    inputs = inputs or load_inputs(factory, tenant="default", models_dir=settings.models_dir)
    return run_rerank(
        factory,
        tenant="default",
        inputs=inputs,
        executor=executor or LocalExecutor(threads=2),
        options=options,
        resume_run_id=resume,
    )


# Many small chunks, each its own transaction: the kill lands in the middle of the run.
CHUNK_ROWS = "4"


def jobmatch(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`jobmatch rerank ARGS` in a child process, its output appended to log."""
    with log.open("ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "rerank", "--no-progress", *args],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def newest_run(engine: Engine) -> MatchRun | None:
    """The latest re-rank run, if any."""
    with create_session_factory(engine)() as session:
        return session.scalars(select(MatchRun).order_by(MatchRun.id.desc())).first()
