"""Lock order and database errors in process: no SQL statement runs while a thread holds a
tenant's index lock (the cause of the lock-up under load), and explanations, which read their
documents under it, take no pooled connection there; a database that fails answers 503
with Retry-After; SQLite writers wait for the write lock instead of failing."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from app.main import create_app
from app.matching.engine import MatchEngine
from app.migrations import upgrade_database
from app.settings import Settings
from tests.factories import make_graduate, make_job
from tests.support import add_live_key


@pytest.fixture
def statements_under_lock(client: TestClient, engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement executed while its thread held some tenant's index lock."""
    matcher: MatchEngine = client.app.state.match_engine  # type: ignore[attr-defined]
    offending: list[str] = []

    def check(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        for index in list(matcher._tenants.values()):
            if index.lock._is_owned():  # type: ignore[attr-defined]
                offending.append(statement.split("\n")[0])

    event.listen(engine, "before_cursor_execute", check)
    yield offending
    event.remove(engine, "before_cursor_execute", check)


def test_no_statement_runs_under_the_index_lock(
    client: TestClient, statements_under_lock: list[str]
) -> None:
    job = client.post("/v1/jobs", json=make_job("lock-1")).json()
    graduates = [make_graduate(f"lock-g{i}") for i in range(5)]
    assert client.post("/v1/graduates/bulk", json=graduates).json()["created"] == 5
    assert client.get(f"/v1/jobs/{job['id']}/matches").status_code == 200  # first build
    client.patch(f"/v1/jobs/{job['id']}", json={"headcount": 3})
    client.post("/v1/graduates", json=make_graduate("lock-g9"))
    assert client.get(f"/v1/jobs/{job['id']}/matches").status_code == 200  # catch-up
    assert client.post("/v1/match", json={"job": {"title": "PLC", "company": "甬"}}).is_success
    # In the foreground: the test's sessions share one connection, which threads cannot.
    matcher: MatchEngine = client.app.state.match_engine  # type: ignore[attr-defined]
    assert matcher.refit("default") is not None
    assert client.get(f"/v1/jobs/{job['id']}/matches").status_code == 200  # after the swap
    assert client.get("/readyz").status_code == 200
    assert statements_under_lock == []


def test_explaining_takes_no_pooled_connection_under_the_index_lock(tmp_path: Path) -> None:
    """Explanations read the documents they explain from the tenant's rows while the ranker
    is held (the candidates are known only once ranked): on the request's own connection,
    taken before the lock, so a lock holder never waits for the pool. A real pool here: the
    in-process fixtures share one connection, which never shows a checkout."""
    with _sqlite_app(tmp_path) as client:
        matcher: MatchEngine = client.app.state.match_engine  # type: ignore[attr-defined]
        taken_under_lock: list[str] = []

        def check(*_args: Any) -> None:
            for tenant, index in list(matcher._tenants.items()):
                if index.lock._is_owned():  # type: ignore[attr-defined]
                    taken_under_lock.append(tenant)

        draft = make_job()
        del draft["external_id"]
        job = client.post("/v1/jobs", json=make_job("explain-1")).json()
        graduate = client.post("/v1/graduates", json=make_graduate("explain-g1")).json()

        def explained(k: int) -> list[Any]:
            asked = {"explain": True, "k": k}  # a k not asked before: ranked, not kept
            for_job = client.get(f"/v1/jobs/{job['id']}/matches", params=asked)
            for_graduate = client.get(f"/v1/graduates/{graduate['id']}/matches", params=asked)
            preview = client.post("/v1/match", json={"job": draft}, params=asked)
            return [
                for_job.json()["matches"],
                for_graduate.json()["matches"],
                preview.json()["graduates"]["matches"],
            ]

        # The first round reads the change log the writes left (so its sessions hold their
        # connections early); the second has nothing to catch up.
        assert all(matches and matches[0]["explanation"] for matches in explained(10))
        event.listen(client.app.state.engine, "checkout", check)  # type: ignore[attr-defined]
        assert all(matches and matches[0]["explanation"] for matches in explained(5))
        assert taken_under_lock == []


def test_operational_error_answers_503_with_retry_after(client: TestClient, engine: Engine) -> None:
    driver_error = engine.dialect.loaded_dbapi.OperationalError  # wrapped like a real one

    def fail(*_args: Any) -> None:
        raise driver_error("server closed the connection unexpectedly")

    event.listen(engine, "before_cursor_execute", fail)
    try:
        response = client.get("/v1/jobs")
        health = client.get("/healthz")
        ready = client.get("/readyz")
    finally:
        event.remove(engine, "before_cursor_execute", fail)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "unavailable"
    assert health.status_code == 200  # alive: it does not ask the database
    assert ready.status_code == 503 and ready.json()["checks"]["database"] != "ok"
    assert client.get("/v1/jobs").status_code == 200  # and nothing stuck afterwards


def _sqlite_app(tmp_path: Path, **overrides: Any) -> TestClient:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    upgrade_database(url=url)
    settings = Settings(database_url=url, models_dir=tmp_path / "models", **overrides)
    return TestClient(create_app(settings), headers=add_live_key(url))


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_sqlite_writer_waits_for_the_write_lock(tmp_path: Path) -> None:
    with _sqlite_app(tmp_path) as client:
        holder = _hold_write_lock(tmp_path / "busy.db")
        # Released while the request waits in BEGIN IMMEDIATE (busy_timeout is 10 s).
        release = threading.Timer(0.5, holder.rollback)
        release.start()
        response = client.post("/v1/jobs", json=make_job("busy-1"))
        release.join()
        holder.close()
    assert response.status_code == 201, response.text


def test_sqlite_write_lock_held_past_every_wait_answers_503(tmp_path: Path) -> None:
    with _sqlite_app(tmp_path, sqlite_busy_timeout_ms=100, sqlite_write_attempts=2) as client:
        holder = _hold_write_lock(tmp_path / "busy.db")
        try:
            response = client.post("/v1/jobs", json=make_job("busy-2"))
            reads = client.get("/v1/jobs")  # readers are not blocked by the writer (WAL)
        finally:
            holder.rollback()
            holder.close()
        assert response.status_code == 503
        assert "write lock" in response.json()["error"]["message"]
        assert "Retry-After" in response.headers
        assert reads.status_code == 200
        assert client.post("/v1/jobs", json=make_job("busy-2")).status_code == 201


def test_pool_sized_below_the_admitted_requests_is_refused() -> None:
    with pytest.raises(ValueError, match="max_concurrent_requests"):
        Settings(max_concurrent_requests=30, db_pool_size=20, db_max_overflow=5)
