"""Requisition, shortlist, pipeline and progress shapes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints

from app.schemas.common import (
    MAX_RECORD_ID,
    Day,
    InputModel,
    Moment,
    Name,
    NotNull,
    OutputModel,
    Text,
    clean_text,
)
from app.schemas.matches import Explanation, ScoreParts
from app.vocabulary import PipelineStage, RequisitionStatus

Headcount = Annotated[int, Field(ge=1, le=10_000)]
Recorder = Annotated[
    str, BeforeValidator(clean_text), StringConstraints(min_length=1, max_length=100)
]
JobIds = Annotated[
    list[Annotated[int, Field(ge=1, le=MAX_RECORD_ID)]],
    Field(
        min_length=1,
        max_length=20,
        description="The employer's job postings this requisition fills (1–20).",
        examples=[[1]],
    ),
]


class RequisitionCreate(InputModel):
    """An employer's order: fill `headcount` places from these postings by `deadline`."""

    employer: Name = Field(description="Employer name.", examples=["浙江科甬泰自动化科技有限公司"])
    title: Name = Field(description="What the order is for.", examples=["电气自动化工程师30名"])
    headcount: Headcount = Field(description="Places to fill.", examples=[30])
    deadline: Day = Field(description="Date by which the places should be filled.")
    job_ids: JobIds


class RequisitionUpdate(InputModel):
    """A partial update: only the fields sent are changed; none of them may be null."""

    title: NotNull[Name] = Field(None, description="What the order is for.")
    headcount: NotNull[Headcount] = Field(None, description="Places to fill.")
    deadline: NotNull[Day] = Field(None, description="New deadline.")
    status: NotNull[RequisitionStatus] = Field(None, description="open, filled or closed.")
    job_ids: NotNull[JobIds] = None


class RequisitionPublic(OutputModel):
    """A stored requisition."""

    id: int
    tenant: str = Field(description="The agency that owns it.")
    employer: str
    title: str
    headcount: int
    deadline: date
    status: RequisitionStatus
    job_ids: list[int]
    time_to_shortlist_ms: float | None = Field(description="Wall time of the first shortlist.")
    first_shortlisted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ShortlistEntry(OutputModel):
    """One shortlisted graduate with the reasons for the pick. Contact details stay out."""

    candidacy_id: int
    rank: int
    graduate_id: int
    external_id: str
    major: str | None
    education: str
    school: str | None
    city: str | None
    job_id: int = Field(description="The requisition's posting the graduate fits best.")
    score: float
    parts: ScoreParts
    explanation: Explanation | None


class Shortlist(OutputModel):
    """The graduates added to a requisition's pipeline, best first."""

    requisition_id: int
    requested: int
    shortlisted: list[ShortlistEntry]
    excluded_in_pipeline: int = Field(description="Candidates already in this pipeline.")
    excluded_at_capacity: int = Field(
        description="Candidates already shortlisted for the maximum of open requisitions."
    )
    time_to_shortlist_ms: float


class StageChange(InputModel):
    """Move a candidacy to its next stage (or to rejected / withdrawn)."""

    stage: PipelineStage = Field(description="The new stage.", examples=["contacted"])
    recorded_by: Recorder = Field(
        description="Who records it (≤ 100 characters).", examples=["中博-王顾问"]
    )
    note: Text = Field("", max_length=2000, description="Free text, e.g. the interview outcome.")
    occurred_at: Moment | None = Field(
        None, description="When it happened (default: now); not in the future."
    )


class PipelineEventPublic(OutputModel):
    """One recorded stage change."""

    from_stage: str | None
    to_stage: str
    recorded_by: str
    note: str
    occurred_at: datetime


class CandidacyPublic(OutputModel):
    """A graduate in a requisition's pipeline."""

    id: int
    requisition_id: int
    graduate_id: int
    job_id: int | None
    stage: PipelineStage
    rank: int
    score: float
    created_at: datetime
    updated_at: datetime
    allowed_next: list[str] = Field(description="Stages this candidacy may move to now.")
    events: list[PipelineEventPublic] = Field(default_factory=list)


class HiresOnDay(OutputModel):
    """Hires recorded on one day."""

    day: date
    hires: int
    cumulative: int


class Progress(OutputModel):
    """Where a requisition stands."""

    requisition_id: int
    status: RequisitionStatus
    headcount: int
    hires: int
    remaining: int
    deadline: date
    days_left: int = Field(description="Days from today to the deadline (negative when past).")
    at_stage: dict[str, int] = Field(description="Candidacies now at each stage.")
    reached: dict[str, int] = Field(
        description="Funnel: candidacies that reached each forward stage at some point."
    )
    time_to_shortlist_ms: float | None
    hires_per_day: list[HiresOnDay]
