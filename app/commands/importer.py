"""`jobmatch import jobs|graduates FILE`: upsert JSONL, CSV or XLSX records by external_id."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from tqdm import tqdm

from app.commands import add_tenant_option
from app.db import create_db_engine, create_session_factory
from app.importing.load import load_records
from app.importing.readers import ReaderError, count_lines, iter_raw_records
from app.schemas.graduates import GraduateCreate
from app.schemas.jobs import JobCreate
from app.services.duplicates import duplicate_groups_among
from app.services.records import TenantTable
from app.settings import get_settings
from app.tables import Graduate, Job

KINDS: dict[str, tuple[TenantTable, type[BaseModel]]] = {
    "jobs": (Job, JobCreate),
    "graduates": (Graduate, GraduateCreate),
}
FAILURES_SHOWN = 20


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `import` command."""
    parser = subparsers.add_parser(
        "import",
        help="upsert job postings or graduate profiles from a JSONL, CSV or XLSX file",
        description="Records are upserted by external_id in batches, one transaction each; "
        "bad rows are reported with their line numbers and never stop the good ones.",
    )
    parser.add_argument("kind", choices=sorted(KINDS), help="what the file holds")
    parser.add_argument("file", type=Path, help=".jsonl, .csv or .xlsx (optionally .gz)")
    add_tenant_option(parser)
    parser.add_argument(
        "--batch-size", type=int, default=None, help="records per transaction (default 1000)"
    )
    parser.add_argument("--database-url", help="default: JOBMATCH_DATABASE_URL")
    parser.add_argument("--failures", type=Path, help="write every failure to this JSONL file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Import the file and print a summary; exit 1 when any record failed."""
    settings = get_settings()
    if not args.file.is_file():
        print(f"error: {args.file} does not exist")
        return 2
    table, schema = KINDS[args.kind]
    engine = create_db_engine(args.database_url or settings.database_url)
    started = time.perf_counter()
    try:
        total = count_lines(args.file)
    except ReaderError as exc:
        print(f"error: {args.file}: {exc}")
        return 2
    try:
        with tqdm(total=total, unit="rec", desc=f"import {args.kind}") as bar:
            summary = load_records(
                create_session_factory(engine),
                table,
                schema,
                tenant=args.tenant,
                records=iter_raw_records(args.file),
                batch_size=args.batch_size or settings.import_batch_size,
                on_progress=bar.update,
                compliance_mode=settings.compliance_mode,
            )
        with create_session_factory(engine)() as session:
            groups = duplicate_groups_among(
                session, table, tenant=args.tenant, ids=summary.ids, settings=settings
            )
    except ReaderError as exc:
        print(f"error: {args.file}: {exc}")
        return 2
    except OperationalError as exc:
        # Committed batches stay; running the import again upserts the rest.
        print(f"error: the database failed: {str(exc.orig).splitlines()[0]}")
        return 2
    finally:
        engine.dispose()
    elapsed = time.perf_counter() - started

    if summary.ignored_fields:
        print(
            f"notice: ignored fields not in the {args.kind} model: "
            f"{', '.join(sorted(summary.ignored_fields))}"
        )
    failed = len(summary.failures)
    print(
        f"{args.file}: {summary.created} created, {summary.updated} updated, {failed} failed "
        f"in {elapsed:.1f} s"
    )
    if table is Job:
        counts = summary.flags_by_rule.most_common()
        by_rule = ", ".join(f"{rule} {count}" for rule, count in counts)
        print(
            f"compliance: {summary.flagged} postings flagged"
            + (f" ({by_rule})" if by_rule else "")
            + (" and refused" if settings.compliance_mode == "reject" else "")
        )
    print(
        f"duplicates: {len(groups)} groups of near-identical {args.kind} "
        f"({sum(len(group) for group in groups)} records)"
        + (
            f"; largest {len(groups[0])}, ids {', '.join(map(str, groups[0][:5]))} …"
            if groups
            else ""
        )
    )
    for failure in summary.failures[:FAILURES_SHOWN]:
        reasons = "; ".join(
            f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in failure.errors
        )
        print(f"  line {failure.line} ({failure.external_id or '-'}): {reasons}")
    if failed > FAILURES_SHOWN:
        print(
            f"  … and {failed - FAILURES_SHOWN} more"
            + ("" if args.failures else " (use --failures FILE for all)")
        )
    if args.failures:
        with args.failures.open("w", encoding="utf-8") as out:
            for failure in summary.failures:
                out.write(
                    json.dumps(
                        {
                            "line": failure.line,
                            "external_id": failure.external_id,
                            "errors": failure.errors,
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
    return 1 if failed else 0
