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

Other databases have no such exact in-process signal (PostgreSQL's NOTIFY arrives after the
writer's commit returns, so a query right behind a write could miss it): for them
`version()` returns None and the caller queries the log every time.
"""

from __future__ import annotations

import sqlite3
import threading
from urllib.parse import quote

from sqlalchemy import Engine


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

    def version(self) -> int | None:
        """A number that changes whenever another connection commits, or None if unknown."""
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
