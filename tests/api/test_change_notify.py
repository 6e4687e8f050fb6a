"""The PostgreSQL change signal on a real server: a commit to the change log moves it, a
rollback does not, and a lost listener says "unknown" (the caller reads the log), backs off,
and recovers."""

from __future__ import annotations

import select
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, text

from app.db import create_db_engine
from app.matching.change_signal import PostgresNotifications, change_signal_for
from app.tables import IndexChange
from tests.support import fresh_database

# Only a bound on a failing test: a notification arrives within microseconds.
NOTICE_WAIT_S = 30


def append_change(engine: Engine, *, commit: bool) -> None:
    with engine.connect() as connection:
        connection.execute(insert(IndexChange).values(tenant="default", entity="job", entity_id=1))
        if commit:
            connection.commit()
        else:
            connection.rollback()


def version_after_notice(signal: PostgresNotifications) -> int | None:
    """The signal once its socket has something to read."""
    connection = signal._connection
    assert connection is not None
    select.select([connection.fileno()], [], [], NOTICE_WAIT_S)
    return signal.version()


# The NOTIFY signal is PostgreSQL's: these tests have no SQLite twin.
pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_engine(tmp_path: Path) -> Iterator[Engine]:
    with fresh_database("postgres", tmp_path) as url:
        engine = create_db_engine(url)
        yield engine
        engine.dispose()


def test_a_commit_to_the_log_moves_the_signal_and_a_rollback_does_not(
    postgres_engine: Engine,
) -> None:
    signal = change_signal_for(postgres_engine)
    assert isinstance(signal, PostgresNotifications)
    try:
        first = signal.version()
        assert first is not None
        assert signal.version() == first  # nothing committed: unchanged

        append_change(postgres_engine, commit=False)
        append_change(postgres_engine, commit=True)
        second = version_after_notice(signal)
        assert second is not None and second != first
        assert signal.version() == second  # the rollback sent nothing
    finally:
        signal.close()
        postgres_engine.dispose()


def test_a_lost_listener_reads_as_unknown_then_listens_again(postgres_engine: Engine) -> None:
    signal = PostgresNotifications(postgres_engine)
    try:
        first = signal.version()
        assert signal._connection is not None
        listener_pid = signal._connection.info.backend_pid
        with postgres_engine.begin() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": listener_pid})
        assert version_after_notice(signal) is None
        assert signal.version() is None  # no reconnect per call right after a failure

        signal._retry_at = 0.0  # the back-off has passed
        again = signal.version()  # a new connection, and a number never given before
        assert again is not None and again != first
        append_change(postgres_engine, commit=True)
        assert version_after_notice(signal) not in (None, again)
    finally:
        signal.close()
        postgres_engine.dispose()


def test_the_event_loops_read_never_connects_nor_waits(postgres_engine: Engine) -> None:
    """connect=False (fresh_snapshot, the principal cache) may only read a listener that is
    up: connecting waits on the server, forever on a frozen one, and would stall the loop."""
    signal = PostgresNotifications(postgres_engine)
    try:
        assert signal.version(connect=False) is None
        assert signal._connection is None  # it did not connect
        first = signal.version()  # a thread's read connects
        assert first is not None and signal.version(connect=False) == first
        with signal._lock:  # another thread holds the listener (connecting, say)
            assert signal.version(connect=False) is None
        append_change(postgres_engine, commit=True)
        assert signal._connection is not None
        select.select([signal._connection.fileno()], [], [], NOTICE_WAIT_S)
        moved = signal.version(connect=False)  # draining what arrived needs no connect
        assert moved is not None and moved != first
    finally:
        signal.close()
        postgres_engine.dispose()
