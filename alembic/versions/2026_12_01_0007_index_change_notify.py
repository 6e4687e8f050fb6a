"""PostgreSQL: NOTIFY `jobmatch_index_changes` after every statement that appends to the change
log, so a worker learns of a commit without querying the log (app/matching/change_signal.py).

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has PRAGMA data_version instead
    # NOTIFY is sent at commit, and not at all on rollback; one per statement, not per row.
    op.execute(
        """
        CREATE FUNCTION notify_index_changes() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('jobmatch_index_changes', '');
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER index_changes_notify AFTER INSERT ON index_changes "
        "FOR EACH STATEMENT EXECUTE FUNCTION notify_index_changes()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER index_changes_notify ON index_changes")
    op.execute("DROP FUNCTION notify_index_changes()")
