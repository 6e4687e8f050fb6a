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
on one connection of its own per worker and counts what arrived. The caller's thread drains
the socket itself (a non-blocking read, no thread of its own): a listener thread would wait for
the GIL behind the request threads. The server signals every listener inside the writer's
commit, before the commit returns, so the notice is on its way before the writer's client can
ask another worker; what is left is the listening backend's wake-up (microseconds) against the
client's next request (a round trip through HTTP). Any error on the connection returns None:
the caller reads the log then.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Protocol
from urllib.parse import quote

import psycopg
from sqlalchemy import Engine

logger = logging.getLogger(__name__)

CHANNEL = "jobmatch_index_changes"
ACCESS_CHANNEL = "jobmatch_access_changes"
# After a failed connect, the log is queried for this long before connecting again: a connect
# takes milliseconds, under the lock, maybe on the event loop; a database refusing connections
# (at its limit) would otherwise be asked once per request.
RECONNECT_AFTER_S = 1.0


class ChangeSignal(Protocol):
    """A number that moves after every commit to the change log, the keys or the tenants
    (None: unknown, read the log)."""

    def version(self, *, connect: bool = True) -> int | None: ...

    def close(self) -> None: ...


def change_signal_for(engine: Engine) -> ChangeSignal:
    """The cheap change signal of the engine's database."""
    if engine.url.get_backend_name() == "postgresql":
        return PostgresNotifications(engine)
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

    def version(self, *, connect: bool = True) -> int | None:
        """A number that changes whenever another connection commits, or None if unknown.
        (`connect` is for PostgreSQL's listener: opening a local file never waits on a
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
    """Notifications on `jobmatch_index_changes` and `jobmatch_access_changes`, counted: an
    epoch that moves after every commit that appended to the change log or changed a key or
    a tenant."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url.set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._epoch = 0
        self._lost = False
        self._retry_at = 0.0
        # Held for a non-blocking read of the socket: microseconds.
        self._lock = threading.Lock()

    def version(self, *, connect: bool = True) -> int | None:
        """The number of notifications received, or None while the listener is down.

        With connect=False (the event loop's call) it never waits: no connecting, which
        waits on the server (forever on a frozen one), and no waiting for another thread
        that holds the listener; None then, and the caller goes the way that reads the
        database, from a thread."""
        if not self._lock.acquire(blocking=connect):
            return None
        try:
            try:
                if self._connection is None:
                    if not connect or time.monotonic() < self._retry_at:
                        return None
                    self._connection = psycopg.connect(self._conninfo, autocommit=True)
                    self._connection.add_notice_handler(self._notice_lost_connection)
                    self._lost = False
                    self._connection.execute(f"LISTEN {CHANNEL}")
                    self._connection.execute(f"LISTEN {ACCESS_CHANNEL}")
                    # Commits before LISTEN sent nothing here: a new number makes the caller
                    # read the log once.
                    self._epoch += 1
                pgconn = self._connection.pgconn
                pgconn.consume_input()
                while pgconn.notifies() is not None:
                    self._epoch += 1
                if self._lost or pgconn.status != psycopg.pq.ConnStatus.OK:
                    raise psycopg.OperationalError("listener connection lost")
            except psycopg.Error as exc:
                logger.warning("change listener down (%s); reading the log per query", exc)
                self._close_connection()
                self._retry_at = time.monotonic() + RECONNECT_AFTER_S
                return None
            return self._epoch
        finally:
            self._lock.release()

    def _notice_lost_connection(self, diagnostic: psycopg.errors.Diagnostic) -> None:
        # A backend that is ending says so (FATAL) in a message read while idle, before the
        # socket closes: the listener is down from that message on, not from the next read.
        if diagnostic.severity_nonlocalized in ("FATAL", "PANIC"):
            self._lost = True

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        # Whatever arrives on a new connection starts a new count.
        self._epoch += 1

    def close(self) -> None:
        """Close the listening connection."""
        with self._lock:
            self._close_connection()
