"""A cheap, exact signal that the database may have changed, so a worker skips its change-log
query when nothing was committed since it last looked.

SQLite's `PRAGMA data_version` answers from the connection's own view of the file: two reads
on one connection differ when any other connection (any thread, any process) committed in
between, and the read costs no query planning, no statement on the log and no lock wait. The
watcher keeps one read-only connection of its own for it, so every write, this worker's
included, comes from another connection and moves the number.

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
    """`PRAGMA data_version` on a private SQLite connection; None for other databases."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url
        # An in-memory database is private to one connection: there is nothing to watch.
        self.path = (
            url.database
            if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
            else None
        )
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def version(self) -> int | None:
        """A number that changes whenever another connection commits, or None if unknown."""
        if self.path is None:
            return None
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = sqlite3.connect(
                        f"file:{quote(self.path)}?mode=ro", uri=True, check_same_thread=False
                    )
                row = self._connection.execute("PRAGMA data_version").fetchone()
            except sqlite3.Error:
                # Not there yet, or unreadable: say "unknown" and let the caller query the log.
                self.close_unlocked()
                return None
            return int(row[0])

    def close(self) -> None:
        """Close the private connection."""
        with self._lock:
            self.close_unlocked()

    def close_unlocked(self) -> None:
        """Close the private connection; the caller holds the lock."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
