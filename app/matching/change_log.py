"""The `index_changes` log as one worker reads it: which change ids it has applied (the
cursor), and the changes it has not, with the documents they name as they are now."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.repositories import tenant_graduates, tenant_jobs
from app.tables import Graduate, IndexChange, Job

# A change id below the newest one seen but still invisible after this long belongs to a
# transaction that rolled back (PostgreSQL sequences are not gap-free): stop waiting for it.
GAP_TIMEOUT_SECONDS = 10.0


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
class PendingChanges:
    """Changes read from the log (outside the lock) with the documents they name."""

    # (change id, entity, entity id) of each change not applied when read.
    changes: list[tuple[int, str, int]]
    # None for a document deleted (or moved to another tenant) since.
    jobs: dict[int, Job | None]
    graduates: dict[int, Graduate | None]
    # The newest refit another worker published among them, when it is not the one served.
    published_version: str | None


class LogEntry(NamedTuple):
    """One row of the change log."""

    id: int
    entity: str
    entity_id: int
    detail: str | None


def read_log(session: Session, tenant: str, *, after: int) -> list[LogEntry]:
    """The tenant's changes with ids above `after`, in id order."""
    rows = session.execute(
        select(IndexChange.id, IndexChange.entity, IndexChange.entity_id, IndexChange.detail)
        .where(IndexChange.tenant == tenant, IndexChange.id > after)
        .order_by(IndexChange.id)
    ).all()
    return [LogEntry(row.id, row.entity, row.entity_id, row.detail) for row in rows]


def read_pending(
    session: Session, tenant: str, changes: list[LogEntry], *, serving_version: str | None
) -> PendingChanges | None:
    """Unapplied `changes` with the documents they name as they are now (None: no changes)."""
    if not changes:
        return None
    job_ids = {change.entity_id for change in changes if change.entity == "job"}
    graduate_ids = {change.entity_id for change in changes if change.entity == "graduate"}
    jobs: dict[int, Job | None] = dict.fromkeys(job_ids)
    graduates: dict[int, Graduate | None] = dict.fromkeys(graduate_ids)
    if job_ids:
        jobs.update((job.id, job) for job in tenant_jobs(session, tenant=tenant, ids=job_ids))
    if graduate_ids:
        graduates.update(
            (graduate.id, graduate)
            for graduate in tenant_graduates(session, tenant=tenant, ids=graduate_ids)
        )
    published = [change.detail for change in changes if change.entity == "model" and change.detail]
    newest = published[-1] if published else None
    return PendingChanges(
        changes=[(change.id, change.entity, change.entity_id) for change in changes],
        jobs=jobs,
        graduates=graduates,
        published_version=newest if newest != serving_version else None,
    )


def log_head(session: Session, tenant: str) -> int:
    """The newest document change of the tenant (refit announcements do not count)."""
    head = session.scalar(
        select(func.max(IndexChange.id)).where(
            IndexChange.tenant == tenant, IndexChange.entity != "model"
        )
    )
    return int(head or 0)


def count_changes(session: Session, tenant: str, *, after: int, documents_only: bool) -> int:
    """Changes of the tenant after id `after` (only document changes when documents_only)."""
    conditions = [IndexChange.tenant == tenant, IndexChange.id > after]
    if documents_only:
        conditions.append(IndexChange.entity != "model")
    return int(session.scalar(select(func.count()).where(*conditions)) or 0)


def announce_version(session: Session, tenant: str, version: str) -> None:
    """Log a published refit, so every other worker adopts it on its next catch-up."""
    session.add(IndexChange(tenant=tenant, entity="model", entity_id=0, detail=version))
