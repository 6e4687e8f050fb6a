"""Live per-tenant match indexes, kept fresh from the `index_changes` log.

Every write appends to `index_changes` in its own transaction. Before a match query a worker
applies the changes it has not seen (read-your-writes, and convergence across workers). A
refit builds a new ranker in a background thread and swaps it in under the tenant's lock, so a
reader sees the old index or the new one, never a half-built one.

Lock order: a thread holding a tenant's `lock` never waits for a pooled connection, which
under load deadlocked every worker thread behind one lock holder that waited for a connection
held by a queued request. Changes and the documents they name are read first, with the
caller's connection; only the in-memory work (applying them, ranking, swapping a snapshot in)
happens under the lock. The one read under it is an explained match's documents (its
candidates are known only once ranked), on a connection its request took before the lock
(app.matching.documents.DatabaseDocuments).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.db import write_transaction
from app.matching.change_log import (
    ChangeCursor,
    PendingChanges,
    announce_version,
    read_log,
    read_pending,
)
from app.matching.change_signal import ChangeSignal
from app.matching.refit import BackgroundRefit, is_refit_due
from app.matching.snapshot import IndexSnapshot, SnapshotBuilder
from app.matching.status import IndexStatus, read_status
from app.model_store import ModelStore
from app.ranking import MajorTable, RankerParams
from app.repositories import tenants_with_documents
from app.tenant_paths import is_valid_tenant_id

logger = logging.getLogger(__name__)


class TenantIndex:
    """The live index of one tenant and the lock that orders its readers and writers."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        # Held only for in-memory work: never while waiting for the database.
        self.lock = threading.RLock()
        # Serialises (re)building a snapshot from the database, so concurrent first readers
        # build once; its holder already has its connection, so it never waits on the pool.
        self.build_lock = threading.Lock()
        self.refit = BackgroundRefit(tenant)
        self.snapshot: IndexSnapshot | None = None
        self.cursor = ChangeCursor(0)
        # The change signal's value read just before this worker last read the log: while
        # it stands, nothing was committed since, so the log need not be read again.
        self.log_read_at: int | None = None

    def install(self, snapshot: IndexSnapshot, head: int) -> None:
        """Serve `snapshot` (built at log head `head`); the caller holds the lock."""
        # Cleared before the swap: a lock-free reader (fresh_snapshot) that sees the new
        # snapshot never pairs it with the old one's signal.
        self.log_read_at = None  # the next catch-up reads the log
        # Changes after `head` are applied again on the next catch-up (idempotent).
        self.cursor = ChangeCursor(head)
        self.snapshot = snapshot


class MatchEngine:
    """Per-tenant rankers over the database's jobs and graduates, fresh after every write."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        models_dir: Path,
        params: RankerParams | None = None,
        majors: MajorTable | None = None,
        change_signal: ChangeSignal | None = None,
        school_signal: bool = True,
    ) -> None:
        self.session_factory = session_factory
        self.store = ModelStore(models_dir)
        self.builder = SnapshotBuilder(
            self.store, params=params, majors=majors, school_signal=school_signal
        )
        # Only where every write really commits (not in a test's rolled-back transaction).
        self.change_signal = change_signal
        self._tenants: dict[str, TenantIndex] = {}
        self._tenants_lock = threading.Lock()

    # --- reading ------------------------------------------------------------------------

    def _tenant(self, tenant: str) -> TenantIndex:
        with self._tenants_lock:
            index = self._tenants.get(tenant)
            if index is None:
                index = self._tenants[tenant] = TenantIndex(tenant)
            return index

    @contextmanager
    def reading(self, session: Session, tenant: str) -> Iterator[IndexSnapshot | None]:
        """The tenant's snapshot with every committed change applied, held under its lock."""
        index = self._tenant(tenant)
        self._catch_up(session, index)
        with index.lock:
            yield index.snapshot
        self._maybe_auto_refit(index)

    def fresh_snapshot(self, tenant: str) -> IndexSnapshot | None:
        """The tenant's snapshot when the change signal shows no commit since this worker last
        read the log, else None (the caller catches up, in a thread). No database work and no
        lock: the event loop calls it, and a reader holding the lock would stall every request.
        Always None on PostgreSQL, whose signal is exact only after a round trip."""
        if self.change_signal is None:
            return None
        index = self._tenants.get(tenant)
        if index is None:
            return None
        snapshot = index.snapshot
        read_at = index.log_read_at
        if snapshot is None or read_at is None or self.change_signal.version(wait=False) != read_at:
            return None
        # A swap between the two reads above pairs this snapshot with its successor's signal.
        return snapshot if index.snapshot is snapshot else None

    def warm(self) -> list[str]:
        """Build or load the index of every tenant that has documents (at start-up)."""
        with self.session_factory() as session:
            return self.catch_up_all(session)

    def catch_up_all(self, session: Session) -> list[str]:
        """Build, load or catch up the index of every tenant that has documents."""
        tenants = tenants_with_documents(session)
        for tenant in tenants:
            if not is_valid_tenant_id(tenant):
                # Rows from before tenant ids were checked: never turned into a path.
                logger.warning("skipping rows of invalid tenant id %r", tenant)
                continue
            self._catch_up(session, self._tenant(tenant))
        return tenants

    def is_loaded(self, tenant: str) -> bool:
        """Whether this worker holds an index of the tenant."""
        index = self._tenant(tenant)
        with index.lock:
            return index.snapshot is not None

    def _catch_up(self, session: Session, index: TenantIndex) -> None:
        """Bring the index up to the log: database reads here, in-memory changes under lock."""
        # Read before the log, so a commit landing meanwhile moves it past what is stored.
        signal = self.change_signal.version() if self.change_signal is not None else None
        if signal is not None and signal == index.log_read_at and index.snapshot is not None:
            return  # nothing was committed anywhere since the log was last read: no query
        if index.snapshot is None and not self._install_built(session, index, version=None):
            return
        with index.lock:
            serving = index.snapshot
        self._apply_pending(session, index)
        with index.lock:
            # A snapshot swapped in meanwhile (a refit, an adopted version) starts from its
            # own head: the log is read again for it, whatever the signal says.
            if index.snapshot is serving:
                index.log_read_at = signal

    def _apply_pending(self, session: Session, index: TenantIndex) -> None:
        pending = self._read_pending(session, index)
        if pending is None:
            return
        if pending.published_version is not None and self._install_built(
            session, index, version=pending.published_version
        ):
            # Another worker refitted: its version was adopted from models/; what changed
            # since the adopted build's head is read again below.
            pending = self._read_pending(session, index)
            if pending is None:
                return
        with index.lock:
            snapshot = index.snapshot
            assert snapshot is not None
            # Another thread may have applied some of them meanwhile (with documents read no
            # earlier than these), or swapped a refit in: only still-unseen changes apply.
            unseen = set(index.cursor.unseen([change_id for change_id, _, _ in pending.changes]))
            if not unseen:
                return
            touched = {
                (entity, entity_id)
                for change_id, entity, entity_id in pending.changes
                if change_id in unseen
            }
            for entity, documents in (("job", pending.jobs), ("graduate", pending.graduates)):
                for entity_id, document in sorted(documents.items()):
                    if (entity, entity_id) in touched:
                        snapshot.apply(entity, entity_id, document)
            index.cursor.mark(sorted(unseen))

    def _read_pending(self, session: Session, index: TenantIndex) -> PendingChanges | None:
        """The changes this worker has not applied, and their documents as they are now."""
        with index.lock:
            low = index.cursor.low
        entries = read_log(session, index.tenant, after=low)
        with index.lock:
            unseen = set(index.cursor.unseen([entry.id for entry in entries]))
            serving_version = index.snapshot.version if index.snapshot else None
        return read_pending(
            session,
            index.tenant,
            [entry for entry in entries if entry.id in unseen],
            serving_version=serving_version,
        )

    def _install_built(self, session: Session, index: TenantIndex, *, version: str | None) -> bool:
        """Build (version None: load or fit) or adopt `version` outside the lock, then swap it in.

        False when there was nothing to install (no documents, the version is missing, or
        another thread is building while this one has a snapshot to serve meanwhile).
        """
        if version is not None and not self.store.has_version(index.tenant, version):
            logger.warning(
                "refit version %s of tenant %s is not in the models dir; keeping the current one",
                version,
                index.tenant,
            )
            return False
        session.connection()  # the connection first, then the build lock (see module doc)
        with index.lock:
            serving = index.snapshot is not None
        # Only a worker with nothing to serve waits for a build: with a snapshot in hand,
        # readers go on with it (fresh documents, previous vocabulary) while one thread adopts.
        if not index.build_lock.acquire(blocking=not serving):
            return False
        try:
            with index.lock:
                current = index.snapshot
            if current is not None and (version is None or current.version == version):
                return True  # another thread built or adopted it while this one waited
            built = self.builder.build(session, index.tenant, allow_load=True, version=version)
            if built is None:
                return False
            with index.lock:
                index.install(*built)
        finally:
            index.build_lock.release()
        return True

    # --- refit --------------------------------------------------------------------------

    def start_refit(self, tenant: str) -> bool:
        """Fit a new version in the background; False if one is already running."""
        return self._tenant(tenant).refit.start(self.refit)

    def wait_for_refit(self, tenant: str, timeout: float | None = None) -> None:
        """Block until the tenant's background refit (if any) has finished."""
        self._tenant(tenant).refit.wait(timeout)

    def refit(self, tenant: str) -> str | None:
        """Fit a new version from the database, publish it, and swap it in atomically."""
        index = self._tenant(tenant)
        with self.session_factory() as session:
            # Built outside the lock: readers keep using the current index meanwhile.
            built = self.builder.build(session, tenant, allow_load=False)
        if built is None:
            return None
        snapshot, head = built
        # Published in a writer's transaction of its own: the build's read transaction has
        # ended, so on SQLite this waits for the write lock instead of failing as stale.
        with write_transaction(self.session_factory) as session:
            announce_version(session, tenant, snapshot.version)
        with index.lock:
            index.install(snapshot, head)
        return snapshot.version

    def _maybe_auto_refit(self, index: TenantIndex) -> None:
        snapshot = index.snapshot
        if snapshot is None:
            return
        if is_refit_due(
            changes_since_fit=index.cursor.low - snapshot.fitted_change_id,
            documents=len(snapshot.jobs) + len(snapshot.graduates),
        ):
            self.start_refit(index.tenant)

    # --- status -------------------------------------------------------------------------

    def status(self, session: Session, tenant: str) -> IndexStatus:
        """Version, counts, fit time and pending changes of the tenant's index."""
        index = self._tenant(tenant)
        if index.snapshot is None:
            self._catch_up(session, index)  # builds it; later writes show as pending
        with index.lock:
            snapshot = index.snapshot
            applied = index.cursor.low
            refit_running = index.refit.running
        return read_status(
            session,
            tenant,
            snapshot=snapshot,
            applied_change_id=applied,
            refit_running=refit_running,
            last_refit_error=index.refit.last_error,
        )

    def snapshots(self) -> dict[str, tuple[IndexSnapshot | None, int]]:
        """Each tenant's current snapshot and applied change id, read without waiting."""
        with self._tenants_lock:
            indexes = list(self._tenants.values())
        return {index.tenant: (index.snapshot, index.cursor.low) for index in indexes}
