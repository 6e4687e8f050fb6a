"""Files the service exported with graduates' identifiers in them: registered when written
(and audited), so an erasure can find them and rewrite them without the erased graduates."""

from __future__ import annotations

import csv
from collections.abc import Collection
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.roles import Principal
from app.services.audit import record_event
from app.tables import ExportedFile

# Where each side of a run row names the graduate: side "jobs" ranks jobs for a graduate
# (the query), side "graduates" ranks graduates (the candidates) for a job.
_GRADUATE_COLUMN = {"jobs": "query_external_id", "graduates": "candidate_external_id"}


def register_export(
    session: Session, *, principal: Principal, tenant: str, run_id: int | None, path: Path
) -> ExportedFile:
    """Remember an exported file and audit the export."""
    exported = ExportedFile(tenant=tenant, run_id=run_id, path=str(path.resolve()))
    session.add(exported)
    record_event(
        session,
        principal=principal,
        tenant=tenant,
        action="export",
        entity="match_run",
        entity_id=run_id,
        detail=exported.path,
    )
    return exported


def exported_paths(session: Session, *, tenant: str) -> list[Path]:
    """The tenant's exported files that still exist."""
    paths = {
        Path(p)
        for p in session.scalars(select(ExportedFile.path).where(ExportedFile.tenant == tenant))
    }
    return sorted(path for path in paths if path.is_file())


def drop_graduates_from_export(path: Path, external_ids: Collection[str]) -> int:
    """Rewrite an exported run file without the rows naming these graduates; rows removed."""
    erased = set(external_ids)
    temporary = path.with_name(path.name + ".tmp")
    if path.suffix.lower() == ".parquet":
        table = pq.read_table(path)
        names_graduate = pc.or_(
            pc.and_(
                pc.equal(table["side"], "jobs"),
                pc.is_in(table["query_external_id"], value_set=pa.array(sorted(erased))),
            ),
            pc.and_(
                pc.equal(table["side"], "graduates"),
                pc.is_in(table["candidate_external_id"], value_set=pa.array(sorted(erased))),
            ),
        )
        kept = table.filter(pc.invert(pc.fill_null(names_graduate, False)))
        removed = int(table.num_rows - kept.num_rows)
        pq.write_table(kept, temporary)
    else:
        removed = 0
        with (
            path.open(newline="", encoding="utf-8") as source,
            temporary.open("w", newline="", encoding="utf-8") as target,
        ):
            reader = csv.DictReader(source)
            writer = csv.DictWriter(target, fieldnames=reader.fieldnames or [])
            writer.writeheader()
            for row in reader:
                column = _GRADUATE_COLUMN.get(row.get("side") or "")
                if column is not None and row.get(column) in erased:
                    removed += 1
                    continue
                writer.writerow(row)
    temporary.replace(path)
    return removed
