"""Validate raw records one by one, then upsert the valid ones: one bad record sinks no other."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from app.errors import ValidationFailed, describe_validation_errors, printable
from app.metrics import RECORDS_UPSERTED
from app.schemas.common import BulkResponse, UpsertResult, nfkc_trim, number_digits
from app.services.compliance import ComplianceMode, flag_messages, posting_flags
from app.services.records import TenantTable, upsert_records
from app.tables import Job


@dataclass(slots=True)
class ValidatedBatch:
    """Records that passed validation (with their positions) and those that did not."""

    valid: list[tuple[int, BaseModel]] = field(default_factory=list)
    failed: list[UpsertResult] = field(default_factory=list)


def validate_records(
    schema: type[BaseModel], raw_records: Sequence[tuple[int, Any]]
) -> ValidatedBatch:
    """Validate (position, raw) pairs against the schema; failures keep their field messages."""
    batch = ValidatedBatch()
    for position, raw in raw_records:
        try:
            batch.valid.append((position, schema.model_validate(raw)))
        except ValidationError as exc:
            batch.failed.append(
                failed_result(position, raw, describe_validation_errors(exc.errors(), strip=()))
            )
    return batch


def failed_result(position: int, raw: Any, errors: list[dict[str, str]]) -> UpsertResult:
    """The result of a record that was not stored."""
    return UpsertResult(
        index=position, external_id=external_id_key(raw), status="failed", errors=errors
    )


def _screen_postings(
    batch: ValidatedBatch, *, mode: ComplianceMode
) -> tuple[ValidatedBatch, list[dict[str, Any]]]:
    """Each valid posting's compliance columns; in reject mode flagged postings fail instead."""
    kept = ValidatedBatch(failed=list(batch.failed))
    derived: list[dict[str, Any]] = []
    for position, record in batch.valid:
        flags = posting_flags(record.model_dump())
        if flags and mode == "reject":
            kept.failed.append(
                UpsertResult(
                    index=position,
                    external_id=getattr(record, "external_id", None),
                    status="failed",
                    errors=flag_messages(flags),
                    flag_count=len(flags),
                    flag_rules=[flag.rule for flag in flags],
                )
            )
            continue
        kept.valid.append((position, record))
        derived.append(
            {"compliance_flags": [asdict(flag) for flag in flags], "flag_count": len(flags)}
        )
    return kept, derived


def upsert_validated(
    session: Session,
    table: TenantTable,
    *,
    tenant: str,
    batch: ValidatedBatch,
    compliance_mode: ComplianceMode = "flag",
) -> list[UpsertResult]:
    """Upsert the batch's valid records (postings checked against the compliance rules);
    return every record's result in position order."""
    derived: list[dict[str, Any]] | None = None
    if table is Job:
        batch, derived = _screen_postings(batch, mode=compliance_mode)
    outcomes = upsert_records(
        session, table, tenant=tenant, records=[r for _, r in batch.valid], derived=derived
    )
    results = [
        UpsertResult(
            index=position,
            external_id=o.external_id,
            status=o.status,
            id=o.id,
            flag_count=derived[i]["flag_count"] if derived is not None else 0,
            flag_rules=[f["rule"] for f in derived[i]["compliance_flags"]] if derived else [],
        )
        for i, ((position, _), o) in enumerate(zip(batch.valid, outcomes, strict=True))
    ]
    return sorted(results + batch.failed, key=lambda result: result.index)


def external_id_key(raw: Any) -> str | None:
    """The external_id a raw record will be stored under (7 and "7" are one), if readable."""
    external_id = raw.get("external_id") if isinstance(raw, dict) else None
    digits = number_digits(external_id)
    if digits is not None:
        return digits
    if isinstance(external_id, str):
        return printable(str(nfkc_trim(external_id)))
    return None


def reject_duplicate_external_ids(raw_records: Sequence[Any]) -> None:
    """A bulk request naming one external_id twice is ambiguous: refuse it whole, naming both."""
    first_seen: dict[str, int] = {}
    details = []
    for position, raw in enumerate(raw_records):
        key = external_id_key(raw)
        if key is None:
            continue
        if key in first_seen:
            details.append(
                {
                    "field": f"[{position}].external_id",
                    "message": f"duplicate of record [{first_seen[key]}] ({key!r})",
                }
            )
        else:
            first_seen[key] = position
    if details:
        raise ValidationFailed(
            f"{len(details)} duplicate external_id(s) in one request; send each record once",
            details=details,
        )


def bulk_upsert(
    session: Session,
    table: TenantTable,
    schema: type[BaseModel],
    *,
    tenant: str,
    raw_records: Sequence[Any],
    compliance_mode: ComplianceMode = "flag",
) -> BulkResponse:
    """Validate each record, upsert the valid ones by external_id, report every record."""
    reject_duplicate_external_ids(raw_records)
    batch = validate_records(schema, list(enumerate(raw_records)))
    results = upsert_validated(
        session, table, tenant=tenant, batch=batch, compliance_mode=compliance_mode
    )
    counts = Counter(result.status for result in results)
    for status, count in counts.items():
        RECORDS_UPSERTED.labels(kind=table.__tablename__, channel="bulk", status=status).inc(count)
    return BulkResponse(
        created=counts["created"],
        updated=counts["updated"],
        failed=counts["failed"],
        flagged=sum(1 for result in results if result.flag_count),
        results=results,
    )
