"""Live per-tenant match indexes, kept fresh from the `index_changes` log.

Every write appends to `index_changes` in its own transaction. Before a match query a worker
applies the changes it has not seen (read-your-writes, and convergence across workers). A
refit builds a new ranker in a background thread and swaps it in under the tenant's lock, so a
reader sees the old index or the new one, never a half-built one.

Lock order: no thread touches the database while it holds a tenant's `lock`. Changes and the
documents they name are read first, with the caller's connection; only the in-memory work
(applying them, ranking, swapping a snapshot in) happens under the lock. A thread holding the
lock therefore never waits for a pooled connection, which under load deadlocked every worker
thread behind one lock holder that waited for a connection held by a queued request.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import write_transaction
from app.learning.weights import with_tuned_weights
from app.matching.change_signal import DataVersion
from app.matching.documents import graduate_document, job_document
from app.metrics import REFIT_SECONDS
from app.ranking import MajorTable, Ranker, RankerParams, Tokenizer
from app.ranking.lexicon import read_major_classes_csv
from app.tables import Graduate, IndexChange, Job
from app.tenant_paths import is_valid_tenant_id, remove_tree, tenant_dir

logger = logging.getLogger(__name__)
T = TypeVar("T")

# A change id below the newest one seen but still invisible after this long belongs to a
# transaction that rolled back (PostgreSQL sequences are not gap-free): stop waiting for it.
GAP_TIMEOUT_SECONDS = 10.0
# Refit on its own once this share of the documents changed since the vocabulary was fitted.
AUTO_REFIT_SHARE = 0.2
AUTO_REFIT_MIN_CHANGES = 200
VERSIONS_KEPT = 3
POINTER_FILE = "CURRENT.json"
# Answers kept per snapshot between two changes: a k=10 answer takes at most ~22 KB
# (tracemalloc, every label distinct), so this bounds them at ~45 MB per tenant and worker.
ANSWERS_KEPT = 2048


class ChangeCursor:
    """The change ids applied so far: all ids ≤ `low`, plus `seen` ids above it."""

    def __init__(self, low: int) -> None:
        self.low = low
        self.seen: set[int] = set()
        self._gap_noticed: dict[int, float] = {}

    def unseen(self, ids: list[int]) -> list[int]:
        """The ids not applied yet."""
        return [
            change_id for change_id in ids if change_id > self.low and change_id not in self.seen
        ]

    def mark(self, ids: list[int]) -> None:
        """Record ids as applied and move `low` over every contiguous or expired id."""
        self.seen.update(change_id for change_id in ids if change_id > self.low)
        now = time.monotonic()
        while self.seen:
            following = self.low + 1
            if following in self.seen:
                self.seen.discard(following)
            elif now - self._gap_noticed.setdefault(following, now) < GAP_TIMEOUT_SECONDS:
                break
            self._gap_noticed.pop(following, None)
            self.low = following


@dataclass(frozen=True, slots=True)
class JobLabel:
    """What a match response shows of a job besides its id."""

    external_id: str
    title: str
    company: str
    city: str | None


@dataclass(frozen=True, slots=True)
class GraduateLabel:
    """What a match response shows of a graduate: no name, phone or e-mail."""

    external_id: str
    major: str | None
    education: str
    school: str | None
    city: str | None


@dataclass(slots=True)
class IndexSnapshot:
    """One fitted ranker with the labels of the documents it indexes."""

    ranker: Ranker
    version: str
    fitted_at: datetime
    fitted_change_id: int
    source: Literal["fitted", "loaded"]
    jobs: dict[int, JobLabel] = field(default_factory=dict)
    graduates: dict[int, GraduateLabel] = field(default_factory=dict)
    # Answers computed from this snapshot as it is now (see answer()); any change clears them.
    answers: dict[Hashable, Any] = field(default_factory=dict)

    def answer(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The answer to a query on this snapshot, computed once until the next change. The
        caller holds the tenant lock (reading()), which changes are applied under too."""
        if key in self.answers:
            cached: T = self.answers[key]
            return cached
        if len(self.answers) >= ANSWERS_KEPT:
            self.answers.clear()
        value = self.answers[key] = compute()
        return value

    def put_job(self, job: Job) -> None:
        """Index or re-index a job (removing it when it moved to another tenant)."""
        self.answers.clear()
        self.ranker.upsert_jobs([job_document(job)])
        self.jobs[job.id] = JobLabel(job.external_id, job.title, job.company, job.city)

    def put_graduate(self, graduate: Graduate) -> None:
        """Index or re-index a graduate."""
        self.answers.clear()
        self.ranker.upsert_graduates([graduate_document(graduate)])
        self.graduates[graduate.id] = GraduateLabel(
            graduate.external_id, graduate.major, graduate.education, graduate.school, graduate.city
        )

    def drop(self, entity: str, entity_id: int) -> None:
        """Remove a document that no longer exists."""
        self.answers.clear()
        if entity == "job":
            self.ranker.remove_jobs([entity_id])
            self.jobs.pop(entity_id, None)
        else:
            self.ranker.remove_graduates([entity_id])
            self.graduates.pop(entity_id, None)


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """What GET /v1/admin/index reports."""

    tenant: str
    version: str | None
    source: str | None
    fitted_at: datetime | None
    jobs: int
    graduates: int
    applied_change_id: int
    latest_change_id: int
    pending_changes: int
    changes_since_fit: int
    refit_running: bool
    last_refit_error: str | None


@dataclass(frozen=True, slots=True)
class PendingChanges:
    """Changes read from the log (outside the lock) with the documents they name."""

    # (change id, entity, entity id) of each change not applied when read.
    changes: list[tuple[int, str, int]]
    jobs: dict[int, Job | None]
    graduates: dict[int, Graduate | None]
    published_version: str | None


class TenantIndex:
    """The live index of one tenant and the lock that orders its readers and writers."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        # Held only for in-memory work: never while waiting for the database.
        self.lock = threading.RLock()
        # Serialises (re)building a snapshot from the database, so concurrent first readers
        # build once; its holder already has its connection, so it never waits on the pool.
        self.build_lock = threading.Lock()
        self.refit_guard = threading.Lock()
        self.snapshot: IndexSnapshot | None = None
        self.cursor = ChangeCursor(0)
        # The change signal's value read just before this worker last read the log: while
        # it stands, nothing was committed since, so the log need not be read again.
        self.log_read_at: int | None = None
        self.refit_thread: threading.Thread | None = None
        self.last_refit_error: str | None = None


class MatchEngine:
    """Per-tenant rankers over the database's jobs and graduates, fresh after every write."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        models_dir: Path,
        params: RankerParams | None = None,
        majors: MajorTable | None = None,
        change_signal: DataVersion | None = None,
        school_signal: bool = True,
    ) -> None:
        self.session_factory = session_factory
        self.models_dir = models_dir
        self.params = params
        self.majors = majors
        # Only where every write really commits (not in a test's rolled-back transaction).
        self.change_signal = change_signal
        # False: school names and tiers are cut from every text of the versions fitted here.
        self.school_signal = school_signal
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

    def warm(self) -> list[str]:
        """Build or load the index of every tenant that has documents (at start-up)."""
        with self.session_factory() as session:
            return self.catch_up_all(session)

    def catch_up_all(self, session: Session) -> list[str]:
        """Build, load or catch up the index of every tenant that has documents."""
        tenants = sorted(
            set(session.scalars(select(Job.tenant).distinct()))
            | set(session.scalars(select(Graduate.tenant).distinct()))
        )
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
            for job_id, job in sorted(pending.jobs.items()):
                if ("job", job_id) not in touched:
                    continue
                if job is None:
                    snapshot.drop("job", job_id)
                else:
                    snapshot.put_job(job)
            for graduate_id, graduate in sorted(pending.graduates.items()):
                if ("graduate", graduate_id) not in touched:
                    continue
                if graduate is None:
                    snapshot.drop("graduate", graduate_id)
                else:
                    snapshot.put_graduate(graduate)
            index.cursor.mark(sorted(unseen))

    def _read_pending(self, session: Session, index: TenantIndex) -> PendingChanges | None:
        """The changes this worker has not applied, and their documents as they are now."""
        with index.lock:
            low = index.cursor.low
        rows = session.execute(
            select(IndexChange.id, IndexChange.entity, IndexChange.entity_id, IndexChange.detail)
            .where(IndexChange.tenant == index.tenant, IndexChange.id > low)
            .order_by(IndexChange.id)
        ).all()
        with index.lock:
            unseen_ids = set(index.cursor.unseen([row.id for row in rows]))
            current_version = index.snapshot.version if index.snapshot else None
        changes = [row for row in rows if row.id in unseen_ids]
        if not changes:
            return None
        job_ids = {row.entity_id for row in changes if row.entity == "job"}
        graduate_ids = {row.entity_id for row in changes if row.entity == "graduate"}
        jobs: dict[int, Job | None] = dict.fromkeys(job_ids)
        graduates: dict[int, Graduate | None] = dict.fromkeys(graduate_ids)
        if job_ids:
            jobs.update(
                (job.id, job)
                for job in session.scalars(
                    select(Job).where(Job.tenant == index.tenant, Job.id.in_(job_ids))
                )
            )
        if graduate_ids:
            graduates.update(
                (graduate.id, graduate)
                for graduate in session.scalars(
                    select(Graduate).where(
                        Graduate.tenant == index.tenant, Graduate.id.in_(graduate_ids)
                    )
                )
            )
        published = [row.detail for row in changes if row.entity == "model" and row.detail]
        newest = published[-1] if published else None
        return PendingChanges(
            changes=[(row.id, row.entity, row.entity_id) for row in changes],
            jobs=jobs,
            graduates=graduates,
            published_version=newest if newest != current_version else None,
        )

    def _install_built(self, session: Session, index: TenantIndex, *, version: str | None) -> bool:
        """Build (version None: load or fit) or adopt `version` outside the lock, then swap it in.

        False when there was nothing to install (no documents, the version is missing, or
        another thread is building while this one has a snapshot to serve meanwhile).
        """
        if version is not None and not (self._tenant_dir(index.tenant) / version).is_dir():
            logger.warning(
                "refit version %s is not in %s; keeping the current one",
                version,
                self._tenant_dir(index.tenant),
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
            built = self._build(session, index.tenant, allow_load=True, version=version)
            if built is None:
                return False
            snapshot, head = built
            with index.lock:
                index.snapshot = snapshot
                # Changes after `head` are applied again on the next catch-up (idempotent).
                index.cursor = ChangeCursor(head)
                index.log_read_at = None  # the next catch-up reads the log
        finally:
            index.build_lock.release()
        return True

    # --- building -----------------------------------------------------------------------

    def _tenant_dir(self, tenant: str) -> Path:
        return tenant_dir(self.models_dir, tenant)

    def _read_pointer(self, tenant: str) -> dict[str, Any] | None:
        pointer = self._tenant_dir(tenant) / POINTER_FILE
        if not pointer.is_file():
            return None
        data: dict[str, Any] = json.loads(pointer.read_text("utf-8"))
        return data

    def _write_pointer(self, tenant: str, version: str, change_id: int) -> None:
        folder = self._tenant_dir(tenant)
        # A name of this thread's own: a refit and a request adopting a version may write at once.
        temporary = folder / f"{POINTER_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
        temporary.write_text(json.dumps({"version": version, "change_id": change_id}), "utf-8")
        temporary.replace(folder / POINTER_FILE)  # atomic: readers see old or new, never half
        versions = sorted(
            (path for path in folder.iterdir() if path.is_dir()), key=lambda path: path.name
        )
        for stale in versions[:-VERSIONS_KEPT]:
            if stale.name != version:
                remove_tree(self.models_dir, stale)

    def _build(
        self, session: Session, tenant: str, *, allow_load: bool, version: str | None = None
    ) -> tuple[IndexSnapshot, int] | None:
        """Load `version`, or the saved version when it matches the database; else fit anew.

        Loading keeps the saved vocabulary and idf and indexes the documents as they are now.
        """
        head = self._head(session, tenant)
        jobs = list(session.scalars(select(Job).where(Job.tenant == tenant).order_by(Job.id)))
        graduates = list(
            session.scalars(select(Graduate).where(Graduate.tenant == tenant).order_by(Graduate.id))
        )
        if not jobs and not graduates:
            return None
        job_docs = [job_document(job) for job in jobs]
        graduate_docs = [graduate_document(graduate) for graduate in graduates]
        pointer = self._read_pointer(tenant) if allow_load else None
        if version is not None:
            pointer = {"version": version, "change_id": head}
        folder = self._tenant_dir(tenant) / str(pointer["version"]) if pointer else None
        started = time.perf_counter()
        loaded: Ranker | None = None
        if pointer and folder and folder.is_dir() and pointer["change_id"] == head:
            try:
                loaded = Ranker.load(folder, jobs=job_docs, graduates=graduate_docs)
            except (ValueError, KeyError, OSError) as exc:
                # An artifact of an older format (or a damaged one) is rebuilt, not fatal.
                logger.warning("cannot load %s (%s); fitting a new version", folder, exc)
        if loaded is not None and folder is not None:
            ranker = loaded
            snapshot = self._snapshot(ranker, head, "loaded", folder)
        else:
            # The tenant's weights from `jobmatch tune`, if any, shape every version fitted.
            params = with_tuned_weights(self.params, self._tenant_dir(tenant))
            tokenizer = Tokenizer(
                backend=(params or RankerParams()).backend, drop_schools=not self.school_signal
            )
            ranker = Ranker(params, tokenizer=tokenizer, majors=self.majors).fit(
                job_docs, graduate_docs
            )
            # Microseconds in the name: two refits of unchanged data never collide.
            version = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{ranker.data_hash_[:8]}"
            folder = ranker.save(self._tenant_dir(tenant), version=version)
            self._write_pointer(tenant, folder.name, head)
            snapshot = self._snapshot(ranker, head, "fitted", folder)
        for job in jobs:
            snapshot.jobs[job.id] = JobLabel(job.external_id, job.title, job.company, job.city)
        for graduate in graduates:
            snapshot.graduates[graduate.id] = GraduateLabel(
                graduate.external_id,
                graduate.major,
                graduate.education,
                graduate.school,
                graduate.city,
            )
        logger.info(
            "index %s for tenant %s: %s (%d jobs, %d graduates) in %.2f s",
            snapshot.version,
            tenant,
            snapshot.source,
            len(jobs),
            len(graduates),
            time.perf_counter() - started,
        )
        return snapshot, head

    @staticmethod
    def _snapshot(
        ranker: Ranker, change_id: int, source: Literal["fitted", "loaded"], folder: Path
    ) -> IndexSnapshot:
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        return IndexSnapshot(
            ranker=ranker,
            version=folder.name,
            fitted_at=datetime.fromisoformat(manifest["created_at"]),
            fitted_change_id=change_id,
            source=source,
        )

    @staticmethod
    def _head(session: Session, tenant: str) -> int:
        """The newest document change of the tenant (refit announcements do not count)."""
        head = session.scalar(
            select(func.max(IndexChange.id)).where(
                IndexChange.tenant == tenant, IndexChange.entity != "model"
            )
        )
        return int(head or 0)

    # --- refit --------------------------------------------------------------------------

    def start_refit(self, tenant: str) -> bool:
        """Fit a new version in the background; False if one is already running."""
        index = self._tenant(tenant)
        # Not the index lock: readers never wait on a refit being started.
        with index.refit_guard:
            if index.refit_thread is not None and index.refit_thread.is_alive():
                return False
            index.refit_thread = threading.Thread(
                target=self._refit_quietly, args=(index,), name=f"refit-{tenant}", daemon=True
            )
            index.refit_thread.start()
            return True

    def wait_for_refit(self, tenant: str, timeout: float | None = None) -> None:
        """Block until the tenant's background refit (if any) has finished."""
        thread = self._tenant(tenant).refit_thread
        if thread is not None:
            thread.join(timeout)

    def _refit_quietly(self, index: TenantIndex) -> None:
        started = time.perf_counter()
        try:
            self.refit(index.tenant)
            index.last_refit_error = None
            outcome = "ok"
        except Exception as exc:  # a background thread has no caller to raise to
            logger.exception("refit of tenant %s failed", index.tenant)
            index.last_refit_error = f"{type(exc).__name__}: {exc}"
            outcome = "failed"
        REFIT_SECONDS.labels(outcome=outcome).observe(time.perf_counter() - started)

    def refit(self, tenant: str) -> str | None:
        """Fit a new version from the database, publish it, and swap it in atomically."""
        index = self._tenant(tenant)
        with self.session_factory() as session:
            # Built outside the lock: readers keep using the current index meanwhile.
            built = self._build(session, tenant, allow_load=False)
        if built is None:
            return None
        snapshot, head = built
        # Published in a writer's transaction of its own: the build's read transaction has
        # ended, so on SQLite this waits for the write lock instead of failing as stale.
        with write_transaction(self.session_factory) as session:
            session.add(
                IndexChange(tenant=tenant, entity="model", entity_id=0, detail=snapshot.version)
            )
        with index.lock:
            index.snapshot = snapshot
            index.cursor = ChangeCursor(head)
            index.log_read_at = None  # changes after `head` are read on the next catch-up
        return snapshot.version

    def purge_old_versions(self, tenant: str, *, keep_current: bool = True) -> int:
        """Remove every saved version but the current one (an erasure's text may be in them)."""
        folder = self._tenant_dir(tenant)
        if not folder.is_dir():
            return 0
        pointer = self._read_pointer(tenant) if keep_current else None
        current = str(pointer["version"]) if pointer else None
        stale = [path for path in folder.iterdir() if path.is_dir() and path.name != current]
        for path in stale:
            remove_tree(self.models_dir, path)
        return len(stale)

    def _maybe_auto_refit(self, index: TenantIndex) -> None:
        snapshot = index.snapshot
        if snapshot is None:
            return
        changed = index.cursor.low - snapshot.fitted_change_id
        size = len(snapshot.jobs) + len(snapshot.graduates)
        if changed >= max(AUTO_REFIT_MIN_CHANGES, AUTO_REFIT_SHARE * size):
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
            fitted_change_id = snapshot.fitted_change_id if snapshot else 0
            refit_running = index.refit_thread is not None and index.refit_thread.is_alive()
        latest = self._head(session, tenant)
        pending = session.scalar(
            select(func.count()).where(IndexChange.tenant == tenant, IndexChange.id > applied)
        )
        since_fit = session.scalar(
            select(func.count()).where(
                IndexChange.tenant == tenant,
                IndexChange.id > fitted_change_id,
                IndexChange.entity != "model",
            )
        )
        return IndexStatus(
            tenant=tenant,
            version=snapshot.version if snapshot else None,
            source=snapshot.source if snapshot else None,
            fitted_at=snapshot.fitted_at if snapshot else None,
            jobs=len(snapshot.jobs) if snapshot else 0,
            graduates=len(snapshot.graduates) if snapshot else 0,
            applied_change_id=applied,
            latest_change_id=latest,
            pending_changes=int(pending or 0),
            changes_since_fit=int(since_fit or 0),
            refit_running=refit_running,
            last_refit_error=index.last_refit_error,
        )

    def snapshots(self) -> dict[str, tuple[IndexSnapshot | None, int]]:
        """Each tenant's current snapshot and applied change id, read without waiting."""
        with self._tenants_lock:
            indexes = list(self._tenants.values())
        return {index.tenant: (index.snapshot, index.cursor.low) for index in indexes}


MAJORS_CSV = Path("data") / "lexicon" / "majors_undergraduate.csv"


def load_major_table(shared_dir: Path) -> MajorTable | None:
    """The shipped major classes merged with the full list in shared/ when it is there."""
    path = shared_dir / MAJORS_CSV
    if not path.is_file():
        return None  # the ranker falls back to its shipped table
    return MajorTable(
        major_classes=read_major_classes_csv(path), synonyms=Tokenizer().synonym_map()
    )
