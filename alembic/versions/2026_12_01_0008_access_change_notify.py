"""PostgreSQL: NOTIFY `jobmatch_access_changes` after every statement that changes a key or a
tenant, so a worker may keep who a key is until then (app/api/principals.py) and still refuse a
revoked key on the next request.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("api_keys", "tenants")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite's PRAGMA data_version moves on every commit already
    # Sent at commit, not on rollback; one per statement, not per row.
    op.execute(
        """
        CREATE FUNCTION notify_access_changes() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('jobmatch_access_changes', '');
            RETURN NULL;
        END $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changes()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_notify ON {table}")
    op.execute("DROP FUNCTION notify_access_changes()")
