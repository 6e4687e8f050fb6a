"""The PostgreSQL change signal on a real server: a commit to the change log moves the very next
read, with no wait for the notice, and a rollback does not; callers that queue for the listener
share one round trip; a lost listener says "unknown" (the caller reads the log), backs off, and
recovers; the event loop's read never touches the server."""

from __future__ import annotations

import os
import signal as signals
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, text

from app.db import ConnectionLimits, create_db_engine
from app.matching.change_signal import (
    READ_ONLY_REQUEST_BEGAN,
    PostgresNotifications,
    change_signal_for,
)
from app.tables import IndexChange
from tests.support import fresh_database

# Only a bound on a failing test: the callers reach the lock in microseconds.
QUEUE_WAIT_S = 30
# How long the listening backend stays stopped while a read is under way: a read that does not
# wait for the server's answer returns long before.
BACKEND_STOPPED_S = 0.5


def append_change(engine: Engine, *, commit: bool) -> None:
    with engine.connect() as connection:
        connection.execute(insert(IndexChange).values(tenant="default", entity="job", entity_id=1))
        if commit:
            connection.commit()
        else:
            connection.rollback()


# The NOTIFY signal is PostgreSQL's: these tests have no SQLite twin.
pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_engine(tmp_path: Path) -> Iterator[Engine]:
    with fresh_database("postgres", tmp_path) as url:
        engine = create_db_engine(url)
        yield engine
        engine.dispose()


def test_a_commit_to_the_log_moves_the_next_read_and_a_rollback_does_not(
    postgres_engine: Engine,
) -> None:
    signal = change_signal_for(postgres_engine)
    assert isinstance(signal, PostgresNotifications)
    try:
        first = signal.version()
        assert first is not None
        assert signal.version() == first  # nothing committed: unchanged
        seen = first
        for _ in range(20):  # no waiting between the commit and the read, every time
            append_change(postgres_engine, commit=False)
            assert signal.version() == seen  # the rollback sent nothing
            append_change(postgres_engine, commit=True)
            moved = signal.version()
            assert moved is not None and moved != seen
            seen = moved
    finally:
        signal.close()


def test_a_read_waits_for_a_notice_the_backend_has_not_sent_yet(
    postgres_engine: Engine,
) -> None:
    """The listening backend stopped (SIGSTOP) across a commit, as a loaded machine may leave
    it unscheduled: the notice is not in the socket, and the read must wait for the server's
    answer, which carries it. (Counting what the socket held, the earlier design, returned the
    old number here, and a posting closed through one worker still matched through another.)"""
    signal = PostgresNotifications(postgres_engine, limits=ConnectionLimits())
    try:
        first = signal.version()
        assert signal._connection is not None
        backend = signal._connection.info.backend_pid
        try:
            os.kill(backend, signals.SIGSTOP)
        except (PermissionError, ProcessLookupError):
            pytest.skip("the server's backends are not this user's to stop (a remote server)")
        answers: list[int | None] = []
        reader = threading.Thread(target=lambda: answers.append(signal.version()))
        try:
            append_change(postgres_engine, commit=True)
            reader.start()
            reader.join(BACKEND_STOPPED_S)
        finally:
            os.kill(backend, signals.SIGCONT)
        reader.join(QUEUE_WAIT_S)
        assert answers and answers[0] not in (None, first)
    finally:
        signal.close()


class ObservedLock:
    """The signal's lock, counting the callers that have reached it."""

    def __init__(self) -> None:
        self.inner = threading.Lock()
        self.arrived = 0
        self.changed = threading.Condition()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        with self.changed:
            self.arrived += 1
            self.changed.notify_all()
        return self.inner.acquire(blocking, timeout)

    def release(self) -> None:
        self.inner.release()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *_exc: Any) -> None:
        self.release()


def test_callers_queued_behind_the_listener_share_one_round_trip(
    postgres_engine: Engine,
) -> None:
    signal = PostgresNotifications(postgres_engine, limits=ConnectionLimits())
    lock = ObservedLock()
    signal._lock = lock  # type: ignore[assignment]
    try:
        before = signal.version()
        round_trips = signal.round_trips
        append_change(postgres_engine, commit=True)  # committed before every caller arrives
        answers: list[int | None] = []
        callers = [
            threading.Thread(target=lambda: answers.append(signal.version())) for _ in range(8)
        ]
        with lock.inner:  # another thread holds the listener
            arrived_before = lock.arrived
            for caller in callers:
                caller.start()
            with lock.changed:
                assert lock.changed.wait_for(
                    lambda: lock.arrived == arrived_before + len(callers), QUEUE_WAIT_S
                )
        for caller in callers:
            caller.join(QUEUE_WAIT_S)
        assert signal.round_trips == round_trips + 1  # the first caller's, shared
        assert len(set(answers)) == 1 and answers[0] not in (None, before)
    finally:
        signal.close()


def test_a_request_that_writes_nothing_needs_one_round_trip(postgres_engine: Engine) -> None:
    """Its key check and its index share the round trip begun after it arrived; a caller
    outside such a request (a writer, which must see its own commits) gets its own."""
    signal = PostgresNotifications(postgres_engine, limits=ConnectionLimits())
    try:
        before = signal.version()
        token = READ_ONLY_REQUEST_BEGAN.set(time.monotonic())
        try:
            first = signal.version()
            append_change(postgres_engine, commit=True)  # by someone else, during the request
            assert signal.version() == first
        finally:
            READ_ONLY_REQUEST_BEGAN.reset(token)
        assert signal.round_trips == 2  # the connecting read's and the request's
        after = signal.version()
        assert signal.round_trips == 3
        assert None not in (before, after) and after != first
    finally:
        signal.close()


def test_a_lost_listener_reads_as_unknown_then_listens_again(postgres_engine: Engine) -> None:
    signal = PostgresNotifications(postgres_engine, limits=ConnectionLimits())
    try:
        first = signal.version()
        assert signal._connection is not None
        listener_pid = signal._connection.info.backend_pid
        with postgres_engine.begin() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": listener_pid})
        assert signal.version() is None  # the round trip fails
        assert signal.version() is None  # no reconnect per call right after a failure

        signal._retry_at = 0.0  # the back-off has passed
        again = signal.version()  # a new connection, and a number never given before
        assert again is not None and again != first
        append_change(postgres_engine, commit=True)
        assert signal.version() not in (None, again)
    finally:
        signal.close()


def test_the_event_loops_read_never_touches_the_server(postgres_engine: Engine) -> None:
    """wait=False (fresh_snapshot, the principal cache on the event loop): an exact answer
    needs a round trip, which waits on the server, forever on a frozen one."""
    signal = PostgresNotifications(postgres_engine, limits=ConnectionLimits())
    try:
        assert signal.version(wait=False) is None
        assert signal._connection is None  # it did not connect
        first = signal.version()  # a thread's read connects
        assert first is not None
        round_trips = signal.round_trips
        assert signal.version(wait=False) is None
        assert signal.round_trips == round_trips  # and sent nothing
    finally:
        signal.close()
