"""The schema the migrations build is exactly the one the tables declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from alembic import command
from app.db import create_db_engine
from app.migrations import alembic_config
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


def test_existing_agencies_become_tenant_records(live_database_url: str) -> None:
    """0005 on a database with data: every stored agency with a valid id becomes a tenant;
    a stored name that could be a path does not, and the default tenant always exists."""
    engine = create_db_engine(live_database_url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection=connection), "0003")
        with engine.begin() as connection:
            for tenant, external_id in (("zhongbo", "a"), ("..", "b"), ("zhongbo", "c")):
                connection.execute(
                    text(
                        "INSERT INTO jobs (tenant, external_id, title, company, education,"
                        " majors, skills, description, headcount, status, created_at,"
                        " updated_at) VALUES (:tenant, :external_id, 't', 'c', '不限', '[]',"
                        " '[]', '', 1, 'open', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"tenant": tenant, "external_id": external_id},
                )
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection=connection), "head")
        with engine.connect() as connection:
            tenants = connection.scalars(text("SELECT id FROM tenants ORDER BY id")).all()
    finally:
        engine.dispose()
    assert tenants == ["default", "zhongbo"]
