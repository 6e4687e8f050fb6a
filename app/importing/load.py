"""Load records into the database in batches, one transaction per batch.

A batch that is committed stays committed: an import killed half-way keeps what it
acknowledged, and running it again upserts the rest by external_id.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import AppError, printable
from app.metrics import RECORDS_UPSERTED
from app.schemas.common import UpsertResult
from app.services.bulk import (
    external_id_key,
    failed_result,
    upsert_validated,
    validate_records,
)
from app.services.compliance import ComplianceMode
from app.services.records import TenantTable

ProgressCallback = Callable[[int], None]
logger = logging.getLogger(__name__)

IMPORT_ERRORS = (SQLAlchemyError, AppError, ValueError, TypeError)
"""What storing one record can raise: the database refusing it, a conflict, a bad value."""


def describe_import_error(exc: Exception) -> dict[str, str]:
    """A failed record's reason; for a database error its first line, never the parameters."""
    if isinstance(exc, DBAPIError):
        message = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
    elif isinstance(exc, AppError):
        message = exc.message
    else:
        message = str(exc)
    return {"field": "", "message": printable(f"not stored: {message}")}


@dataclass(frozen=True, slots=True)
class LoadFailure:
    """A record that was not stored, with its line number and reasons."""

    line: int
    external_id: str | None
    errors: list[dict[str, str]]


@dataclass(slots=True)
class LoadSummary:
    """Counts of an import, the failures with line numbers, and the fields ignored."""

    created: int = 0
    updated: int = 0
    # Postings with compliance flags (stored flagged, or failed in reject mode).
    flagged: int = 0
    flags_by_rule: Counter[str] = field(default_factory=Counter)
    # Record ids written, for the duplicate scan after the import.
    ids: list[int] = field(default_factory=list)
    failures: list[LoadFailure] = field(default_factory=list)
    ignored_fields: set[str] = field(default_factory=set)


def load_records(
    session_factory: sessionmaker[Session],
    table: TenantTable,
    schema: type[BaseModel],
    *,
    tenant: str,
    records: Iterable[tuple[int, Mapping[str, Any] | None, str | None]],
    batch_size: int = 1000,
    on_progress: ProgressCallback | None = None,
    compliance_mode: ComplianceMode = "flag",
) -> LoadSummary:
    """Upsert (line, data, read_error) records in batches; bad rows are reported, not fatal."""
    known_fields = set(schema.model_fields)

    def upsert_batch(rows: list[tuple[int, dict[str, Any]]]) -> list[UpsertResult]:
        validated = validate_records(schema, rows)
        with session_factory.begin() as session:
            return upsert_validated(
                session, table, tenant=tenant, batch=validated, compliance_mode=compliance_mode
            )

    summary = LoadSummary()
    batch: list[tuple[int, dict[str, Any]]] = []
    batch_ids: set[str] = set()

    def flush() -> None:
        if not batch:
            return
        try:
            results = upsert_batch(batch)
        except OperationalError:
            raise  # the database is unreachable or locked: no record is to blame
        except IMPORT_ERRORS:
            # One record the database refuses sinks its batch's transaction: store the batch
            # record by record, so that record fails alone with its line and the others stay.
            logger.warning("a batch of %d records failed; retrying one by one", len(batch))
            results = []
            for position, raw in batch:
                try:
                    results.extend(upsert_batch([(position, raw)]))
                except OperationalError:
                    raise
                except IMPORT_ERRORS as exc:
                    results.append(failed_result(position, raw, [describe_import_error(exc)]))
        for result in results:
            summary.flagged += bool(result.flag_count)
            summary.flags_by_rule.update(result.flag_rules)
            if result.id is not None:
                summary.ids.append(result.id)
            if result.status == "created":
                summary.created += 1
            elif result.status == "updated":
                summary.updated += 1
            else:
                summary.failures.append(
                    LoadFailure(result.index, result.external_id, result.errors)
                )
        if on_progress is not None:
            on_progress(len(batch))
        batch.clear()
        batch_ids.clear()

    for line, data, read_error in records:
        if data is None:
            message = read_error or "unreadable record"
            summary.failures.append(LoadFailure(line, None, [{"field": "", "message": message}]))
            if on_progress is not None:
                on_progress(1)
            continue
        unknown = data.keys() - known_fields
        summary.ignored_fields |= unknown
        # An empty cell means "not given": drop it so the schema's default applies.
        cleaned = {
            key: value for key, value in data.items() if key in known_fields and value is not None
        }
        # The same external_id twice in a file: apply in file order, the later one updating.
        external_id = external_id_key(cleaned)
        if external_id is not None and external_id in batch_ids:
            flush()
        batch.append((line, cleaned))
        if external_id is not None:
            batch_ids.add(external_id)
        if len(batch) >= batch_size:
            flush()
    flush()
    summary.failures.sort(key=lambda failure: failure.line)
    for status, count in (
        ("created", summary.created),
        ("updated", summary.updated),
        ("failed", len(summary.failures)),
    ):
        RECORDS_UPSERTED.labels(kind=table.__tablename__, channel="import", status=status).inc(
            count
        )
    return summary
