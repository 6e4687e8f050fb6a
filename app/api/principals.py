"""Who a key is, kept per worker until the next commit that could change it, so a request with
a known key costs no session and no query (on SQLite not even a thread hop).

Exact, not a time-to-live: an entry is valid only while the worker's change signal
(app/matching/change_signal.py) has not moved since before the lookup that made it. SQLite's
`PRAGMA data_version` moves after a commit to any table by any connection, and is read on the
event loop; on PostgreSQL, triggers on the keys and tenants send a notice at commit (migration
0008), counted after a round trip on the listening connection, so only from a thread. So a
revoked key, a deleted tenant or a changed role reaches the next request of every worker, as
the key lookup itself would. Failed lookups are never kept, so an unknown key always reaches
the database and the same 401. Without a signal (an in-memory database, a listener that is
down) every request looks its key up.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Protocol

from app.auth.roles import Principal

# Keys held per worker before the cache starts again: far above the keys of a deployment (a few
# per agency), it only bounds memory if someone cycles through many valid keys.
MAX_ENTRIES = 4096


class CommitSignal(Protocol):
    """A number that moves after every commit that changes a key or a tenant (None: unknown);
    with wait=False it never waits on the database."""

    def version(self, *, wait: bool = ...) -> int | None: ...


class PrincipalCache:
    """Principals by (key digest, requested tenant), valid until the commit signal moves."""

    def __init__(self, signal: CommitSignal | None) -> None:
        self._signal = signal
        self._entries: dict[Hashable, tuple[int, Principal]] = {}
        self._lock = threading.Lock()

    def version(self, *, wait: bool = False) -> int | None:
        """The signal now: read before a lookup, and given to `put` with its result. Without
        `wait` (the event loop) it never waits on the database, where a frozen server would
        hold it, and with it every request, forever; so it is None on PostgreSQL, and the
        caller asks again from a thread with wait=True."""
        return None if self._signal is None else self._signal.version(wait=wait)

    def get(self, key: Hashable, version: int | None) -> Principal | None:
        """The principal kept for `key` when no commit happened since its lookup."""
        if version is None:
            return None
        entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            return None
        return entry[1]

    def put(self, key: Hashable, principal: Principal, version: int | None) -> None:
        """Keep a principal looked up after the signal read `version`."""
        if version is None:
            return
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (version, principal)
