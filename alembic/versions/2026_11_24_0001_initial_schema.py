"""Initial schema: job postings and graduate profiles, each owned by a tenant.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.tables import StringList, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EDUCATION_CHECK = "education IN ('不限', '大专', '本科', '硕士', '博士')"


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("company", sa.String(200), nullable=False),
        sa.Column("city", sa.String(64), nullable=True),
        sa.Column("district", sa.String(64), nullable=True),
        sa.Column("industry", sa.String(100), nullable=True),
        sa.Column("education", sa.String(8), nullable=False),
        sa.Column("experience", sa.String(50), nullable=True),
        sa.Column("majors", StringList, nullable=False),
        sa.Column("skills", StringList, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("salary_min", sa.Integer(), nullable=True),
        sa.Column("salary_max", sa.Integer(), nullable=True),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("posted_at", sa.Date(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.UniqueConstraint("tenant", "external_id", name="uq_jobs_tenant_external_id"),
        sa.CheckConstraint(EDUCATION_CHECK, name="ck_jobs_education"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_jobs_status"),
        sa.CheckConstraint("headcount >= 1", name="ck_jobs_headcount"),
        sa.CheckConstraint(
            "salary_min IS NULL OR salary_max IS NULL OR salary_min <= salary_max",
            name="ck_jobs_salary_range",
        ),
    )
    op.create_index("ix_jobs_tenant_city", "jobs", ["tenant", "city"])
    op.create_index("ix_jobs_tenant_status", "jobs", ["tenant", "status"])

    op.create_table(
        "graduates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("school", sa.String(200), nullable=True),
        sa.Column("major", sa.String(100), nullable=True),
        sa.Column("education", sa.String(8), nullable=False),
        sa.Column("graduation_year", sa.Integer(), nullable=True),
        sa.Column("city", sa.String(64), nullable=True),
        sa.Column("desired_cities", StringList, nullable=False),
        sa.Column("desired_roles", StringList, nullable=False),
        sa.Column("skills", StringList, nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("expected_salary", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_graduates"),
        sa.UniqueConstraint("tenant", "external_id", name="uq_graduates_tenant_external_id"),
        sa.CheckConstraint(EDUCATION_CHECK, name="ck_graduates_education"),
        sa.CheckConstraint(
            "status IN ('seeking', 'placed', 'withdrawn')", name="ck_graduates_status"
        ),
    )
    op.create_index("ix_graduates_tenant_city", "graduates", ["tenant", "city"])
    op.create_index("ix_graduates_tenant_status", "graduates", ["tenant", "status"])


def downgrade() -> None:
    op.drop_table("graduates")
    op.drop_table("jobs")
