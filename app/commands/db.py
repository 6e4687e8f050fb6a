"""`jobmatch db upgrade`: apply the Alembic migrations to the configured database."""

from __future__ import annotations

import argparse

from app.migrations import upgrade_database
from app.settings import get_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `db` command group."""
    parser = subparsers.add_parser("db", help="database schema management")
    actions = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = actions.add_parser("upgrade", help="migrate the schema to the newest version")
    upgrade.add_argument("--database-url", help="default: JOBMATCH_DATABASE_URL")
    upgrade.set_defaults(func=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    """Apply all pending migrations."""
    url = args.database_url or get_settings().database_url
    upgrade_database(url=url)
    print(f"database at {_redact(url)} is up to date")
    return 0


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
