"""Compliance flags on postings; graduates' opt-out of personalised recommendations.

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0006"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    json_type = sa.JSON().with_variant(JSONB(), "postgresql")
    op.add_column(
        "jobs",
        sa.Column("compliance_flags", json_type, nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column(
        "jobs", sa.Column("flag_count", sa.Integer(), nullable=False, server_default=sa.text("0"))
    )
    op.create_index("ix_jobs_tenant_flag_count", "jobs", ["tenant", "flag_count"])
    op.add_column(
        "graduates",
        sa.Column("personalised", sa.Boolean(), nullable=False, server_default=sa.text("true")),
    )


def downgrade() -> None:
    op.drop_column("graduates", "personalised")
    op.drop_index("ix_jobs_tenant_flag_count", table_name="jobs")
    op.drop_column("jobs", "flag_count")
    op.drop_column("jobs", "compliance_flags")
