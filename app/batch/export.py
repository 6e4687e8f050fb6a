"""A stored run's rows to a Parquet or CSV file, with both sides' external ids."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.batch import store
from app.tables import Graduate, Job

COLUMNS = (*store.ROW_COLUMNS, "query_external_id", "candidate_external_id")
SCHEMA = pa.schema(
    [
        ("run_id", pa.int64()),
        ("side", pa.string()),
        ("query_id", pa.int64()),
        ("rank", pa.int16()),
        ("candidate_id", pa.int64()),
        ("score", pa.float32()),
        ("text", pa.float32()),
        ("major", pa.float32()),
        ("education", pa.float32()),
        ("city", pa.float32()),
        ("salary", pa.float32()),
        ("query_external_id", pa.string()),
        ("candidate_external_id", pa.string()),
    ]
)
FORMATS = (".parquet", ".csv")


def export_run(session: Session, *, run_id: int, path: Path) -> int:
    """Write the run's rows to `path` (.parquet or .csv, by its suffix); returns the rows."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: the output must end in .parquet or .csv")
    run = store.get_run(session, run_id=run_id)
    jobs = _external_ids(session, Job, run.tenant)
    graduates = _external_ids(session, Graduate, run.tenant)
    external: dict[str, tuple[dict[int, str], dict[int, str]]] = {
        "jobs": (graduates, jobs),  # side "jobs": jobs (candidates) for each graduate (query)
        "graduates": (jobs, graduates),
    }

    def labelled(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        out = []
        for row in rows:
            queries, candidates = external[row[1]]
            out.append((*row, queries.get(row[2]), candidates.get(row[4])))
        return out

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    written = 0
    if suffix == ".parquet":
        with pq.ParquetWriter(temporary, SCHEMA) as writer:
            for rows in store.iter_run_rows(session, run_id=run_id):
                columns = list(zip(*labelled(rows), strict=True))
                arrays = [
                    pa.array(values, type=field.type)
                    for values, field in zip(columns, SCHEMA, strict=True)
                ]
                writer.write_table(pa.Table.from_arrays(arrays, schema=SCHEMA))
                written += len(rows)
    else:
        with temporary.open("w", newline="", encoding="utf-8") as handle:
            writer_csv = csv.writer(handle)
            writer_csv.writerow(COLUMNS)
            for rows in store.iter_run_rows(session, run_id=run_id):
                writer_csv.writerows(labelled(rows))
                written += len(rows)
    temporary.replace(path)  # a reader never sees half a file
    return written


def _external_ids(
    session: Session, table: type[Job] | type[Graduate], tenant: str
) -> dict[int, str]:
    rows = session.execute(select(table.id, table.external_id).where(table.tenant == tenant))
    return {int(row[0]): str(row[1]) for row in rows}
