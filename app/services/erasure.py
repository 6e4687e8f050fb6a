"""Erasure of graduates (PIPL art. 47): every copy of their personal data the service holds.

In the request's transaction: the rows (candidacies and pipeline events cascade), their rows
in stored batch runs and allocations, and an audit event each. After the commit, when the
rows are gone for every reader: a refit of the tenant's vocabulary without their text, every
older model version removed (older vocabularies hold n-grams of their summaries), exported
files rewritten without them, and on SQLite a WAL checkpoint that truncates the log (with
`secure_delete` on, freed pages are zeroed, so the database file keeps no copy either).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, delete, event, or_, select
from sqlalchemy.orm import Session

from app.auth.roles import Principal
from app.errors import NotFoundError
from app.matching.engine import MatchEngine
from app.repositories import tenant_graduates
from app.services.audit import record_event
from app.services.exports import drop_graduates_from_export, exported_paths
from app.services.records import record_changes
from app.tables import Allocation, AllocationRow, Graduate, MatchRun, MatchRunRow

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class ErasureOutcome:
    """What an erasure removed; the file-level fields are filled in after the commit."""

    erased_ids: list[int]
    not_found: list[str] = field(default_factory=list)
    model_versions_removed: int = 0
    export_rows_removed: int = 0
    wal_checkpoint: str = "not run"


def find_graduates_by_external_id(
    session: Session, *, tenant: str, external_ids: Sequence[str]
) -> tuple[list[Graduate], list[str]]:
    """The tenant's graduates with these external ids, and the ids not found."""
    found = tenant_graduates(
        session, tenant=tenant, where=[Graduate.external_id.in_(set(external_ids))]
    )
    known = {graduate.external_id for graduate in found}
    return found, [
        external_id for external_id in dict.fromkeys(external_ids) if external_id not in known
    ]


def erase_graduates(
    session: Session,
    *,
    principal: Principal,
    graduates: Sequence[Graduate],
    match_engine: MatchEngine,
    database: Engine,
) -> ErasureOutcome:
    """Delete the graduates everywhere; files are purged once the request's commit is done."""
    if not graduates:
        return ErasureOutcome(erased_ids=[])
    tenant = principal.tenant
    if any(graduate.tenant != tenant for graduate in graduates):
        raise NotFoundError("graduate not found")
    ids = [graduate.id for graduate in graduates]
    external_ids = [graduate.external_id for graduate in graduates]
    tenant_runs = select(MatchRun.id).where(MatchRun.tenant == tenant)
    session.execute(
        delete(MatchRunRow).where(
            MatchRunRow.run_id.in_(tenant_runs),
            or_(
                (MatchRunRow.side == "jobs") & MatchRunRow.query_id.in_(ids),
                (MatchRunRow.side == "graduates") & MatchRunRow.candidate_id.in_(ids),
            ),
        )
    )
    session.execute(
        delete(AllocationRow).where(
            AllocationRow.allocation_id.in_(
                select(Allocation.id).where(Allocation.tenant == tenant)
            ),
            AllocationRow.graduate_id.in_(ids),
        )
    )
    for graduate in graduates:
        record_event(
            session,
            principal=principal,
            tenant=tenant,
            action="erase",
            entity="graduate",
            entity_id=graduate.id,
            external_id=graduate.external_id,
        )
        session.delete(graduate)
    session.flush()
    record_changes(session, Graduate, tenant=tenant, record_ids=ids)
    outcome = ErasureOutcome(erased_ids=ids)
    exports = exported_paths(session, tenant=tenant)

    def purge_files(_session: Session) -> None:
        purge_files_after_commit(
            outcome,
            tenant=tenant,
            external_ids=external_ids,
            exports=exports,
            match_engine=match_engine,
            database=database,
        )

    event.listen(session, "after_commit", purge_files, once=True)
    return outcome


def purge_files_after_commit(
    outcome: ErasureOutcome,
    *,
    tenant: str,
    external_ids: Sequence[str],
    exports: Sequence[Path],
    match_engine: MatchEngine,
    database: Engine,
) -> None:
    """Refit without the erased text, drop older versions and exported rows, checkpoint."""
    # A refit that started before the erasure would save the old text again after the purge.
    match_engine.wait_for_refit(tenant)
    fitted = match_engine.refit(tenant)
    # Nothing left to fit: no version is current any more, so none is kept.
    outcome.model_versions_removed = match_engine.store.purge_old_versions(
        tenant, keep_current=fitted is not None
    )
    outcome.export_rows_removed = sum(
        drop_graduates_from_export(path, external_ids) for path in exports
    )
    outcome.wal_checkpoint = checkpoint_wal(database)


def checkpoint_wal(database: Engine) -> str:
    """Copy SQLite's WAL into the database file and truncate it to zero bytes.

    Returns "complete", "busy" (another connection held an open transaction at that moment:
    the log keeps its frames until the next checkpoint) or "not sqlite".
    """
    if database.dialect.name != "sqlite":
        return "not sqlite"  # PostgreSQL's own files are the server's; the row is gone
    with database.connect() as connection:
        configured = connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
        # Never wait here: a transaction left open elsewhere would hold the request.
        connection.exec_driver_sql("PRAGMA busy_timeout=0")
        try:
            row = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={int(configured)}")
    busy = int(row[0])
    if busy:
        logger.warning("WAL checkpoint after an erasure was blocked by an open transaction")
    return "busy" if busy else "complete"
