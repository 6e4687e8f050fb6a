"""Requisitions, candidacies (the hiring pipeline) and their stage events.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.tables import JsonColumn, UTCDateTime

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGES = "'recommended', 'contacted', 'interviewed', 'offered', 'hired', 'rejected', 'withdrawn'"


def upgrade() -> None:
    op.create_table(
        "requisitions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("employer", sa.String(200), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("job_ids", JsonColumn, nullable=False),
        sa.Column("time_to_shortlist_ms", sa.Float(), nullable=True),
        sa.Column("first_shortlisted_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_requisitions"),
        sa.CheckConstraint(
            "status IN ('open', 'filled', 'closed')", name="ck_requisitions_status"
        ),
        sa.CheckConstraint("headcount >= 1", name="ck_requisitions_headcount"),
    )
    op.create_index("ix_requisitions_tenant_status", "requisitions", ["tenant", "status"])

    op.create_table(
        "candidacies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("requisition_id", sa.Integer(), nullable=False),
        sa.Column("graduate_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("parts", JsonColumn, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_candidacies"),
        sa.ForeignKeyConstraint(
            ["requisition_id"], ["requisitions.id"],
            name="fk_candidacies_requisition_id_requisitions", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["graduate_id"], ["graduates.id"],
            name="fk_candidacies_graduate_id_graduates", ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "requisition_id", "graduate_id", name="uq_candidacies_requisition_graduate"
        ),
        sa.CheckConstraint(f"stage IN ({STAGES})", name="ck_candidacies_stage"),
    )
    op.create_index(
        "uq_candidacies_one_hire_per_graduate",
        "candidacies",
        ["graduate_id"],
        unique=True,
        sqlite_where=sa.text("stage = 'hired'"),
        postgresql_where=sa.text("stage = 'hired'"),
    )
    op.create_index("ix_candidacies_graduate_stage", "candidacies", ["graduate_id", "stage"])

    op.create_table(
        "pipeline_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("candidacy_id", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(16), nullable=True),
        sa.Column("to_stage", sa.String(16), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_events"),
        sa.ForeignKeyConstraint(
            ["candidacy_id"], ["candidacies.id"],
            name="fk_pipeline_events_candidacy_id_candidacies", ondelete="CASCADE",
        ),
    )
    op.create_index("ix_pipeline_events_candidacy", "pipeline_events", ["candidacy_id"])


def downgrade() -> None:
    op.drop_table("pipeline_events")
    op.drop_table("candidacies")
    op.drop_table("requisitions")
