"""`jobmatch demo load`: store the project's own synthetic demo data (deterministic)."""

from __future__ import annotations

import argparse
from typing import Any

from pydantic import BaseModel
from sqlalchemy import exists, select

from app.commands import add_tenant_option
from app.db import create_db_engine, create_session_factory
from app.demo import DEFAULT_SEED, SYNTHETIC_NOTICE, generate_demo
from app.importing.load import load_records
from app.schemas.graduates import GraduateCreate
from app.schemas.jobs import JobCreate
from app.services.records import TenantTable
from app.settings import get_settings
from app.tables import Graduate, Job


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `demo` command group."""
    parser = subparsers.add_parser("demo", help="synthetic demo data")
    actions = parser.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    load = actions.add_parser("load", help="generate and upsert the synthetic demo data set")
    load.add_argument("--if-empty", action="store_true", help="skip if the tenant has any job")
    load.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed")
    load.add_argument("--jobs", type=int, default=400, help="postings to generate")
    load.add_argument("--graduates", type=int, default=3000, help="graduates to generate")
    add_tenant_option(load)
    load.add_argument("--database-url", help="default: JOBMATCH_DATABASE_URL")
    load.set_defaults(func=run_load)


def run_load(args: argparse.Namespace) -> int:
    """Generate the demo data set and upsert it; with --if-empty, only into an empty tenant."""
    engine = create_db_engine(args.database_url or get_settings().database_url)
    factory = create_session_factory(engine)
    try:
        if args.if_empty:
            with factory() as session:
                if session.scalar(select(exists().where(Job.tenant == args.tenant))):
                    print("demo: the database already has job postings; nothing loaded")
                    return 0
        dataset = generate_demo(seed=args.seed, n_jobs=args.jobs, n_graduates=args.graduates)
        parts: tuple[tuple[str, TenantTable, type[BaseModel], list[dict[str, Any]]], ...] = (
            ("jobs", Job, JobCreate, dataset.jobs),
            ("graduates", Graduate, GraduateCreate, dataset.graduates),
        )
        for label, table, schema, rows in parts:
            summary = load_records(
                factory,
                table,
                schema,
                tenant=args.tenant,
                records=((index + 1, dict(row), None) for index, row in enumerate(rows)),
            )
            if summary.failures:
                raise RuntimeError(f"demo {label} failed validation: {summary.failures[:3]}")
            print(f"demo: {summary.created} {label} created, {summary.updated} updated")
        print(f"demo: {SYNTHETIC_NOTICE}")
    finally:
        engine.dispose()
    return 0
