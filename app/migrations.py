"""Apply the Alembic migrations from code (the CLI, start-up and the tests use this)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from alembic import command

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def alembic_config(*, url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the project's migrations, for a URL or a live connection."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["configure_logger"] = False
    if url is not None:
        # ConfigParser treats % as interpolation; URLs may carry escaped characters.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_database(*, url: str | None = None, connection: Connection | None = None) -> None:
    """Bring the database schema up to the newest migration."""
    command.upgrade(alembic_config(url=url, connection=connection), "head")


@lru_cache
def migration_heads() -> frozenset[str]:
    """The newest revision(s) of the shipped migrations."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def applied_heads(connection: Connection) -> frozenset[str]:
    """The revision(s) the database is stamped with (empty before the first upgrade)."""
    return frozenset(MigrationContext.configure(connection).get_current_heads())
