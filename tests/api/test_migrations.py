"""The schema the migrations build is exactly the one the tables declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from app.tables import Base


def test_migrations_match_the_table_definitions(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_migrations_create_the_tables_and_stamp_head(engine: Engine) -> None:
    inspector = inspect(engine)
    assert {"jobs", "graduates", "alembic_version"} <= set(inspector.get_table_names())
    unique = {c["name"] for c in inspector.get_unique_constraints("jobs")}
    assert "uq_jobs_tenant_external_id" in unique
