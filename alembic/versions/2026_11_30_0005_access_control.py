"""Access control: tenants as records, API keys (hashes only), the audit of personal-data
access, the files exported, and each posting's owning employer key.

Revision ID: 0005
Revises: 0006 (written against 0003; one head is kept)
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.tables import UTCDateTime
from app.tenant_paths import is_valid_tenant_id

revision: str = "0005"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("jobs", "graduates", "requisitions", "match_runs", "allocations")


def upgrade() -> None:
    tenants = op.create_table(
        "tenants",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
    )
    # Every agency that already has rows becomes a record (the default one always), so data
    # and `make run` keep working; a stored name that is not a valid id is left out.
    connection = op.get_bind()
    existing = {"default"}
    for table in TENANT_TABLES:
        existing |= set(connection.scalars(sa.text(f"SELECT DISTINCT tenant FROM {table}")))
    now = sa.func.current_timestamp()
    rows = [
        {"id": tenant, "display_name": tenant}
        for tenant in sorted(existing)
        if is_valid_tenant_id(tenant)
    ]
    for row in rows:
        connection.execute(tenants.insert().values(**row, created_at=now))

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.ForeignKeyConstraint(["tenant"], ["tenants.id"], name="fk_api_keys_tenant_tenants"),
        sa.UniqueConstraint("secret_hash", name="uq_api_keys_secret_hash"),
        sa.CheckConstraint(
            "role IN ('admin', 'agency', 'employer', 'viewer')", name="ck_api_keys_role"
        ),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(140), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("external_id", sa.String(128), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        sa.CheckConstraint(
            "action IN ('read_contact', 'export', 'erase')", name="ck_audit_events_action"
        ),
    )
    op.create_index("ix_audit_events_tenant_id", "audit_events", ["tenant", "id"])
    op.create_table(
        "exported_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exported_files"),
    )
    op.create_index("ix_exported_files_tenant", "exported_files", ["tenant"])
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("owner_key_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_jobs_owner_key_id_api_keys",
            "api_keys",
            ["owner_key_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("fk_jobs_owner_key_id_api_keys", type_="foreignkey")
        batch.drop_column("owner_key_id")
    op.drop_index("ix_exported_files_tenant", table_name="exported_files")
    op.drop_table("exported_files")
    op.drop_index("ix_audit_events_tenant_id", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("api_keys")
    op.drop_table("tenants")
