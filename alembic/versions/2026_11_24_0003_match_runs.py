"""Batch re-ranking runs (match_runs, their chunks and rows, the current run per side) and
allocations of graduates to jobs within headcounts.

Revision ID: 0003
Revises: 0004 (requisitions was written against 0002 first; one head is kept)
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.tables import JsonColumn, UTCDateTime

revision: str = "0003"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIDES = "side IN ('jobs', 'graduates')"


def upgrade() -> None:
    op.create_table(
        "match_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("sides", sa.String(32), nullable=False),
        sa.Column("params", JsonColumn, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("chunks_total", sa.Integer(), nullable=False),
        sa.Column("chunks_done", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_match_runs"),
        sa.CheckConstraint(
            "status IN ('running', 'complete', 'failed')", name="ck_match_runs_status"
        ),
        sa.CheckConstraint("chunks_done <= chunks_total", name="ck_match_runs_chunks"),
    )
    op.create_index("ix_match_runs_tenant_status", "match_runs", ["tenant", "status"])
    op.create_table(
        "match_run_chunks",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(16), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("queries", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "side", "chunk", name="pk_match_run_chunks"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["match_runs.id"],
            name="fk_match_run_chunks_run_id_match_runs",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(SIDES, name="ck_match_run_chunks_side"),
    )
    op.create_table(
        "match_run_rows",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(16), nullable=False),
        sa.Column("query_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.REAL(), nullable=False),
        sa.Column("text", sa.REAL(), nullable=False),
        sa.Column("major", sa.REAL(), nullable=False),
        sa.Column("education", sa.REAL(), nullable=False),
        sa.Column("city", sa.REAL(), nullable=False),
        sa.Column("salary", sa.REAL(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "side", "query_id", "rank", name="pk_match_run_rows"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["match_runs.id"],
            name="fk_match_run_rows_run_id_match_runs",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(SIDES, name="ck_match_run_rows_side"),
    )
    op.create_table(
        "match_run_current",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("side", sa.String(16), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("switched_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "side", name="pk_match_run_current"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["match_runs.id"], name="fk_match_run_current_run_id_match_runs"
        ),
        sa.CheckConstraint(SIDES, name="ck_match_run_current_side"),
    )
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("run_ids", JsonColumn, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("per_graduate", sa.Integer(), nullable=False),
        sa.Column("assigned", sa.Integer(), nullable=False),
        sa.Column("total_score", sa.Float(), nullable=False),
        sa.Column("params", JsonColumn, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_allocations"),
        sa.CheckConstraint("method IN ('exact', 'greedy')", name="ck_allocations_method"),
    )
    op.create_index("ix_allocations_tenant", "allocations", ["tenant"])
    op.create_table(
        "allocation_rows",
        sa.Column("allocation_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("graduate_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "allocation_id", "job_id", "graduate_id", name="pk_allocation_rows"
        ),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["allocations.id"],
            name="fk_allocation_rows_allocation_id_allocations",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("allocation_rows")
    op.drop_table("allocations")
    op.drop_table("match_run_current")
    op.drop_table("match_run_rows")
    op.drop_table("match_run_chunks")
    op.drop_table("match_runs")
