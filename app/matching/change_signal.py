"""A cheap, exact signal that the database may have changed, so a worker skips its change-log
query when nothing was committed since it last looked.

SQLite's `PRAGMA data_version` answers from the connection's own view of the file: two reads
on one connection differ when any other connection (any thread, any process) committed in
between, and the read costs no query planning, no statement on the log and no lock wait. The
watcher reads it on read-only connections of its own, so every write, this worker's included,
comes from another connection and moves the number.

One connection per thread, not one shared under a lock: with 16 requests in flight the shared
connection's lock was a convoy (a fifth of a cached match's samples in py-spy). A connection's
numbers mean nothing on another, so what `version()` returns is an epoch shared by the
threads, moved whenever any thread's connection sees its number move: a commit after a
`version()` call moves the epoch before, or at, the next call of every thread.

PostgreSQL: a statement trigger on the log NOTIFYs `jobmatch_index_changes` at commit
(migration 0007), and triggers on the keys and tenants NOTIFY `jobmatch_access_changes`
(migration 0008, for the principals a worker keeps); `PostgresNotifications` LISTENs to both
on one connection of its own per worker and counts what arrived. Counting what happens to be
in the socket is not enough: the server signals the listening backend inside the writer's
commit, but that backend must still be scheduled to send the notice, and on a loaded machine
another worker's next request can come first (a test saw it: a posting closed through one
worker still matched through the other). So every read is a round trip on the listening
connection: a backend handles a pending notify signal before it runs the next command
(ProcessClientReadInterrupt) and sends what it holds before ReadyForQuery, so the answer to a
query sent after a commit returned comes after that commit's notice. Any round trip begun
after a caller arrived will do for it: callers that queue for the connection share the next
one, and a request that writes nothing shares one between its key check and its index
(`READ_ONLY_REQUEST_BEGAN`: it arrived when the request did). A request that writes is never
given that moment, since its later reads must see its own commits. Any error on the connection
returns None: the caller reads the log then.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from contextvars import ContextVar
from typing import Protocol
from urllib.parse import quote

import psycopg
from sqlalchemy import Engine

from app.db import ConnectionLimits, DeadlineConnection

logger = logging.getLogger(__name__)

CHANNEL = "jobmatch_index_changes"
ACCESS_CHANNEL = "jobmatch_access_changes"
# After a failed connect, the log is queried for this long before connecting again: a connect
# takes milliseconds, under the lock every request thread queues for; a database refusing
# connections (at its limit) would otherwise be asked once per request.
RECONNECT_AFTER_S = 1.0

# When the request being served began (time.monotonic()), for a request that writes nothing
# (GET, HEAD, OPTIONS; set by the request middleware): every commit its client could know of
# ended before then, so a round trip begun since answers all of the request's reads.
READ_ONLY_REQUEST_BEGAN: ContextVar[float | None] = ContextVar(
    "jobmatch_read_only_request_began", default=None
)


class ChangeSignal(Protocol):
    """A number that moves after every commit to the change log, the keys or the tenants
    (None: unknown, read the log)."""

    def version(self, *, wait: bool = True) -> int | None: ...

    def close(self) -> None: ...


def change_signal_for(engine: Engine, limits: ConnectionLimits | None = None) -> ChangeSignal:
    """The cheap change signal of the engine's database (on PostgreSQL, waiting on the server
    within `limits`, as the engine's own connections do)."""
    if engine.url.get_backend_name() == "postgresql":
        return PostgresNotifications(engine, limits=limits or ConnectionLimits())
    return DataVersion(engine)


class DataVersion:
    """`PRAGMA data_version` on private SQLite connections (one per thread), as an epoch that
    moves after every commit; None for other databases."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url
        # An in-memory database is private to one connection: there is nothing to watch.
        self.path = (
            url.database
            if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
            else None
        )
        self._local = threading.local()
        self._epoch = 0
        self._lock = threading.Lock()  # taken only to move the epoch or list connections
        self._connections: list[sqlite3.Connection] = []

    def version(self, *, wait: bool = True) -> int | None:
        """A number that changes whenever another connection commits, or None if unknown.
        (`wait` is for PostgreSQL's listener: reading a local file's header never waits on a
        server.)"""
        if self.path is None:
            return None
        local = self._local
        try:
            connection: sqlite3.Connection | None = getattr(local, "connection", None)
            if connection is None:
                connection = sqlite3.connect(
                    f"file:{quote(self.path)}?mode=ro", uri=True, check_same_thread=False
                )
                with self._lock:
                    self._connections.append(connection)
                local.connection, local.seen = connection, None
            seen = int(connection.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            # Not there yet, or unreadable: say "unknown" and let the caller query the log.
            self._forget_thread_connection()
            return None
        if seen != local.seen:
            # This connection's first read, or a commit since its last one: either may hide a
            # change no epoch shows yet.
            with self._lock:
                self._epoch += 1
            local.seen = seen
        return self._epoch

    def _forget_thread_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)
            connection.close()

    def close(self) -> None:
        """Close every private connection."""
        with self._lock:
            connections, self._connections = self._connections, []
            self._local = threading.local()
        for connection in connections:
            connection.close()


class PostgresNotifications:
    """Notifications on `jobmatch_index_changes` and `jobmatch_access_changes`, counted after a
    round trip on the listening connection: an epoch that has moved past every commit, ended
    before the caller arrived, that appended to the change log or changed a key or a tenant."""

    def __init__(self, engine: Engine, *, limits: ConnectionLimits) -> None:
        url = engine.url.set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._connect_timeout_s = limits.connect_timeout_s
        # A frozen server never answers: past this, the caller reads the log (and fails there).
        self._wait_deadline_s = limits.server_wait_deadline_s
        self._connection: DeadlineConnection | None = None
        self._epoch = 0
        self._retry_at = 0.0
        self.round_trips = 0
        # When the last round trip that was answered began (time.monotonic()): a caller that
        # arrived no later has its answer without a round trip of its own.
        self._answered_since: float | None = None
        # Held through a round trip: callers queue here, and share the next one.
        self._lock = threading.Lock()

    def version(self, *, wait: bool = True) -> int | None:
        """The notifications received once the server has answered a query sent after the
        caller arrived (when its read-only request began, else when this call did), or None
        when that cannot be had: with wait=False (the event loop's call,
        which must never wait on the server: forever on a frozen one), while the listener is
        down, or past the wait deadline."""
        if not wait:
            return None
        arrived = READ_ONLY_REQUEST_BEGAN.get()
        if arrived is None:
            arrived = time.monotonic()
        deadline = -1 if self._wait_deadline_s is None else self._wait_deadline_s
        if not self._lock.acquire(timeout=deadline):
            return None
        try:
            if self._answered_since is not None and self._answered_since >= arrived:
                # A round trip that began after this caller arrived was answered meanwhile.
                return self._epoch
            try:
                if self._connection is None:
                    if time.monotonic() < self._retry_at:
                        return None
                    self._connect()
                assert self._connection is not None
                self.round_trips += 1
                sent_at = time.monotonic()
                # Its answer comes after every notification whose commit ended before it was
                # sent (see the module doc); the handler counts them as they are read.
                self._connection.execute("SELECT 1")
                self._answered_since = sent_at
            except psycopg.Error as exc:
                logger.warning("change listener down (%s); reading the log per query", exc)
                self._close_connection()
                self._retry_at = time.monotonic() + RECONNECT_AFTER_S
                return None
            return self._epoch
        finally:
            self._lock.release()

    def _connect(self) -> None:
        connection = DeadlineConnection.connect(
            self._conninfo, autocommit=True, connect_timeout=self._connect_timeout_s
        )
        connection.wait_deadline_s = self._wait_deadline_s
        connection.add_notify_handler(self._count)
        self._connection = connection
        connection.execute(f"LISTEN {CHANNEL}")
        connection.execute(f"LISTEN {ACCESS_CHANNEL}")
        # Commits before LISTEN sent nothing here: a new number makes the caller read the log
        # once.
        self._epoch += 1

    def _count(self, _notify: psycopg.Notify) -> None:
        self._epoch += 1  # called while a round trip reads, under the lock

    def _close_connection(self) -> None:
        self._answered_since = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        # Whatever arrives on a new connection starts a new count.
        self._epoch += 1

    def close(self) -> None:
        """Close the listening connection."""
        with self._lock:
            self._close_connection()
