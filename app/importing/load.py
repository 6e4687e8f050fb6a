"""Load records into the database in batches, one transaction per batch.

A batch that is committed stays committed: an import killed half-way keeps what it
acknowledged, and running it again upserts the rest by external_id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from app.schemas.common import normalize_text
from app.services.bulk import upsert_validated, validate_records
from app.services.compliance import ComplianceMode
from app.services.records import TenantTable

ProgressCallback = Callable[[int], None]


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
    summary = LoadSummary()
    batch: list[tuple[int, dict[str, Any]]] = []
    batch_ids: set[Any] = set()

    def flush() -> None:
        if not batch:
            return
        validated = validate_records(schema, batch)
        with session_factory.begin() as session:
            results = upsert_validated(
                session, table, tenant=tenant, batch=validated, compliance_mode=compliance_mode
            )
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
        external_id = normalize_text(cleaned.get("external_id"))
        if external_id in batch_ids:
            flush()
        batch.append((line, cleaned))
        batch_ids.add(external_id)
        if len(batch) >= batch_size:
            flush()
    flush()
    summary.failures.sort(key=lambda failure: failure.line)
    return summary
