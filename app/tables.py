"""Database tables (SQLAlchemy 2.0 typed mappings). Not to be confused with models/, which
holds fitted ranking artifacts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    REAL,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.vocabulary import (
    EDUCATION_LEVELS,
    GRADUATE_STATUSES,
    JOB_STATUSES,
    MATCH_RUN_STATUSES,
    PIPELINE_STAGES,
    REQUISITION_STATUSES,
)

DEFAULT_TENANT = "default"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON on SQLite, JSONB on PostgreSQL: lists and objects behave the same on both.
JsonColumn = JSON().with_variant(JSONB(), "postgresql")
StringList = JsonColumn


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _in(column: str, values: Iterable[str]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints stably."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Job(Base):
    """A job posting owned by a tenant (the agency)."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("tenant", "external_id", name="uq_jobs_tenant_external_id"),
        CheckConstraint(_in("education", EDUCATION_LEVELS), name="education"),
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        CheckConstraint("headcount >= 1", name="headcount"),
        CheckConstraint(
            "salary_min IS NULL OR salary_max IS NULL OR salary_min <= salary_max",
            name="salary_range",
        ),
        Index("ix_jobs_tenant_city", "tenant", "city"),
        Index("ix_jobs_tenant_status", "tenant", "status"),
        Index("ix_jobs_tenant_flag_count", "tenant", "flag_count"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), default=DEFAULT_TENANT)
    external_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(64))
    industry: Mapped[str | None] = mapped_column(String(100))
    education: Mapped[str] = mapped_column(String(8), default="不限")
    experience: Mapped[str | None] = mapped_column(String(50))
    majors: Mapped[list[str]] = mapped_column(StringList, default=list)
    skills: Mapped[list[str]] = mapped_column(StringList, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    salary_min: Mapped[int | None] = mapped_column(Integer)
    salary_max: Mapped[int | None] = mapped_column(Integer)
    headcount: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="open")
    posted_at: Mapped[date | None] = mapped_column(Date)
    # The employer key that created the posting: an employer sees and edits only its own.
    owner_key_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    # What app.compliance found in the posting at its last write: rule, field, span, offsets.
    compliance_flags: Mapped[list[dict[str, Any]]] = mapped_column(
        JsonColumn, default=list, server_default=text("'[]'")
    )
    flag_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Graduate(Base):
    """A graduate profile owned by a tenant. name, phone and email are personal data (PIPL)."""

    __tablename__ = "graduates"
    __table_args__ = (
        UniqueConstraint("tenant", "external_id", name="uq_graduates_tenant_external_id"),
        CheckConstraint(_in("education", EDUCATION_LEVELS), name="education"),
        CheckConstraint(_in("status", GRADUATE_STATUSES), name="status"),
        Index("ix_graduates_tenant_city", "tenant", "city"),
        Index("ix_graduates_tenant_status", "tenant", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), default=DEFAULT_TENANT)
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    school: Mapped[str | None] = mapped_column(String(200))
    major: Mapped[str | None] = mapped_column(String(100))
    education: Mapped[str] = mapped_column(String(8), default="不限")
    graduation_year: Mapped[int | None] = mapped_column(Integer)
    city: Mapped[str | None] = mapped_column(String(64))
    desired_cities: Mapped[list[str]] = mapped_column(StringList, default=list)
    desired_roles: Mapped[list[str]] = mapped_column(StringList, default=list)
    skills: Mapped[list[str]] = mapped_column(StringList, default=list)
    summary: Mapped[str] = mapped_column(Text, default="")
    expected_salary: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="seeking")
    # False: the graduate refused personalised recommendations (PIPL art. 24).
    personalised: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class IndexChange(Base):
    """One write to a job or graduate, in commit order per tenant: every worker applies the
    changes it has not seen to its in-memory index before answering a match query."""

    __tablename__ = "index_changes"
    __table_args__ = (
        CheckConstraint("entity IN ('job', 'graduate', 'model')", name="entity"),
        Index("ix_index_changes_tenant_id", "tenant", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    # For entity "model": the ranking version a refit published.
    detail: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Requisition(Base):
    """An employer's order to an agency: fill `headcount` places by `deadline`."""

    __tablename__ = "requisitions"
    __table_args__ = (
        CheckConstraint(_in("status", REQUISITION_STATUSES), name="status"),
        CheckConstraint("headcount >= 1", name="headcount"),
        Index("ix_requisitions_tenant_status", "tenant", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), default=DEFAULT_TENANT)
    employer: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    headcount: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    job_ids: Mapped[list[int]] = mapped_column(JsonColumn, default=list)
    # Wall time of the first shortlist, the agency's "time to shortlist".
    time_to_shortlist_ms: Mapped[float | None] = mapped_column(Float)
    first_shortlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Candidacy(Base):
    """A graduate in a requisition's pipeline, with the stage reached and the shortlist score."""

    __tablename__ = "candidacies"
    __table_args__ = (
        UniqueConstraint(
            "requisition_id", "graduate_id", name="uq_candidacies_requisition_graduate"
        ),
        CheckConstraint(_in("stage", PIPELINE_STAGES), name="stage"),
        # The database itself refuses a second hire of one graduate (OpenCATS #232).
        Index(
            "uq_candidacies_one_hire_per_graduate",
            "graduate_id",
            unique=True,
            sqlite_where=text("stage = 'hired'"),
            postgresql_where=text("stage = 'hired'"),
        ),
        Index("ix_candidacies_graduate_stage", "graduate_id", "stage"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requisition_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("requisitions.id", ondelete="CASCADE")
    )
    graduate_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("graduates.id", ondelete="CASCADE")
    )
    job_id: Mapped[int | None] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(16), default="recommended")
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    # Sub-scores at shortlist time: the features `jobmatch tune` learns blend weights from.
    parts: Mapped[dict[str, float]] = mapped_column(JsonColumn, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PipelineEvent(Base):
    """One stage change of a candidacy: who recorded it and when it happened."""

    __tablename__ = "pipeline_events"
    __table_args__ = (Index("ix_pipeline_events_candidacy", "candidacy_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidacy_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("candidacies.id", ondelete="CASCADE")
    )
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    recorded_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


MATCH_SIDES = ("jobs", "graduates")


class MatchRun(Base):
    """One batch re-ranking of a tenant: its fixed inputs and parameters (`params`: ranking
    version, data hash, k, chunking), progress and outcome. Rows are in match_run_rows."""

    __tablename__ = "match_runs"
    __table_args__ = (
        CheckConstraint(_in("status", MATCH_RUN_STATUSES), name="status"),
        CheckConstraint("chunks_done <= chunks_total", name="chunks"),
        Index("ix_match_runs_tenant_status", "tenant", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), default=DEFAULT_TENANT)
    # Comma-separated sides ranked: "jobs" (jobs for every graduate), "graduates" (the reverse).
    sides: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="running")
    chunks_total: Mapped[int] = mapped_column(Integer)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MatchRunChunk(Base):
    """A chunk of a run whose rows are stored: written in the same transaction as its rows, so
    a resumed run skips exactly the chunks that are complete."""

    __tablename__ = "match_run_chunks"
    __table_args__ = (CheckConstraint(_in("side", MATCH_SIDES), name="side"),)

    run_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("match_runs.id", ondelete="CASCADE"), primary_key=True
    )
    side: Mapped[str] = mapped_column(String(16), primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True)
    queries: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MatchRunRow(Base):
    """One ranked candidate of one query in a run: side "jobs" holds jobs (candidate_id) for
    a graduate (query_id), side "graduates" the reverse; parts are the unweighted sub-scores."""

    __tablename__ = "match_run_rows"
    __table_args__ = (CheckConstraint(_in("side", MATCH_SIDES), name="side"),)

    run_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("match_runs.id", ondelete="CASCADE"), primary_key=True
    )
    side: Mapped[str] = mapped_column(String(16), primary_key=True)
    query_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rank: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(REAL)
    text: Mapped[float] = mapped_column(REAL)
    major: Mapped[float] = mapped_column(REAL)
    education: Mapped[float] = mapped_column(REAL)
    city: Mapped[float] = mapped_column(REAL)
    salary: Mapped[float] = mapped_column(REAL)


class CurrentMatchRun(Base):
    """The complete run readers use, per tenant and side; switched in one transaction when a
    run completes, so readers see the previous complete run until then."""

    __tablename__ = "match_run_current"
    __table_args__ = (CheckConstraint(_in("side", MATCH_SIDES), name="side"),)

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    side: Mapped[str] = mapped_column(String(16), primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer, ForeignKey("match_runs.id"))
    switched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


ALLOCATION_METHODS = ("exact", "greedy")


class Allocation(Base):
    """An assignment of graduates to jobs within headcounts, from the pairs of batch runs."""

    __tablename__ = "allocations"
    __table_args__ = (
        CheckConstraint(_in("method", ALLOCATION_METHODS), name="method"),
        Index("ix_allocations_tenant", "tenant"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), default=DEFAULT_TENANT)
    run_ids: Mapped[list[int]] = mapped_column(JsonColumn, default=list)
    method: Mapped[str] = mapped_column(String(16))
    per_graduate: Mapped[int] = mapped_column(Integer, default=1)
    assigned: Mapped[int] = mapped_column(Integer, default=0)
    total_score: Mapped[float] = mapped_column(Float, default=0.0)
    params: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AllocationRow(Base):
    """One graduate assigned to one job in an allocation."""

    __tablename__ = "allocation_rows"

    allocation_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("allocations.id", ondelete="CASCADE"), primary_key=True
    )
    job_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    graduate_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    score: Mapped[float] = mapped_column(Float)


ROLES = ("admin", "agency", "employer", "viewer")
AUDIT_ACTIONS = ("read_contact", "export", "erase")


class Tenant(Base):
    """An agency sharing the service. Its id names its rows and its folder under models/."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """An API key: only the SHA-256 of the secret is stored; `prefix` lets people tell keys
    apart in listings."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32), ForeignKey("tenants.id"))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Who read a graduate's contact data, exported, or erased a record, and when (PIPL)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint(_in("action", AUDIT_ACTIONS), name="action"),
        Index("ix_audit_events_tenant_id", "tenant", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(140))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExportedFile(Base):
    """A file the service wrote with graduates' identifiers in it, so an erasure can find it."""

    __tablename__ = "exported_files"
    __table_args__ = (Index("ix_exported_files_tenant", "tenant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[int | None] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
