"""Job posting shapes: JobCreate (POST, bulk), JobUpdate (PATCH), JobPublic (responses)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from app.errors import ValidationFailed
from app.schemas.common import (
    MAX_JOB_SKILLS,
    MAX_LIST_ITEMS,
    MAX_TEXT_CHARS,
    ClearedList,
    ClearedText,
    Day,
    Education,
    ExternalId,
    InputModel,
    ItemList,
    Name,
    NotNull,
    OptionalExperience,
    OptionalPlace,
    OptionalShort,
    OutputModel,
    Salary,
    clean_text,
    null_to_empty_list,
    null_to_empty_text,
    nullable_list_schema,
)
from app.vocabulary import EducationLevel, JobStatus

Headcount = Annotated[int, Field(ge=1, le=100_000)]

_MajorList = Annotated[ItemList, Field(max_length=MAX_LIST_ITEMS)]
_SkillList = Annotated[ItemList, Field(max_length=MAX_JOB_SKILLS)]
_DescriptionText = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]

# Optional lists and text are stored empty, not null: null is accepted (and clears on PATCH).
Majors = Annotated[
    _MajorList,
    BeforeValidator(
        null_to_empty_list,
        json_schema_input_type=nullable_list_schema(MAX_LIST_ITEMS),
    ),
    Field(
        description=f"Majors the employer accepts (≤ {MAX_LIST_ITEMS}).",
        examples=[["电气工程及其自动化", "自动化"]],
    ),
]
Skills = Annotated[
    _SkillList,
    BeforeValidator(
        null_to_empty_list,
        json_schema_input_type=nullable_list_schema(MAX_JOB_SKILLS),
    ),
    Field(
        description=f"Required or preferred skills, most important first (≤ {MAX_JOB_SKILLS}).",
        examples=[["PLC", "电气设计", "CAD", "西门子S7-1200"]],
    ),
]
Description = Annotated[
    _DescriptionText,
    BeforeValidator(clean_text),
    BeforeValidator(null_to_empty_text, json_schema_input_type=_DescriptionText | None),
    Field(
        description=f"Duties and requirements as free text (≤ {MAX_TEXT_CHARS:,} characters).",
        examples=[
            "岗位职责：负责自动化产线的电气设计与PLC编程，参与设备调试。任职要求：电气类专业。"
        ],
    ),
]


def check_salary_range(salary_min: int | None, salary_max: int | None) -> None:
    """Reject a range whose minimum exceeds its maximum, naming the field."""
    if salary_min is not None and salary_max is not None and salary_min > salary_max:
        message = f"salary_max ({salary_max}) is less than salary_min ({salary_min})"
        raise ValidationFailed(message, details=[{"field": "salary_max", "message": message}])


class JobFields(InputModel):
    """Fields shared by create and update, all optional here."""

    city: OptionalPlace = Field(None, description="City of the workplace.", examples=["宁波"])
    district: OptionalPlace = Field(
        None, description="District within the city.", examples=["北仑"]
    )
    industry: OptionalShort = Field(
        None, description="Industry of the employer.", examples=["工业自动化"]
    )
    experience: OptionalExperience = Field(
        None, description="Experience asked for, as the posting words it.", examples=["应届生"]
    )
    salary_min: Salary | None = Field(
        None,
        description="Lowest monthly salary in CNY; null when negotiable (面议).",
        examples=[6000],
    )
    salary_max: Salary | None = Field(
        None, description="Highest monthly salary in CNY; ≥ salary_min.", examples=[9000]
    )
    posted_at: Day | None = Field(None, description="Date the posting was published.")

    @field_validator("salary_max")
    @classmethod
    def _salary_max_not_below_min(cls, value: int | None, info: ValidationInfo) -> int | None:
        salary_min = info.data.get("salary_min")
        if value is not None and salary_min is not None and value < salary_min:
            raise ValueError(f"salary_max ({value}) is less than salary_min ({salary_min})")
        return value


class JobCreate(JobFields):
    """A new job posting, or one to upsert by external_id."""

    external_id: ExternalId = Field(
        description="Your identifier of the posting; unique within the tenant, used to upsert.",
        examples=["kyt-2026-ele-001"],
    )
    title: Name = Field(
        description="Job title (≤ 200 characters).", examples=["电气自动化工程师（应届生）"]
    )
    company: Name = Field(description="Employer name.", examples=["浙江科甬泰自动化科技有限公司"])
    education: Education = Field(
        "不限", description="Minimum education: 不限, 大专, 本科, 硕士 or 博士.", examples=["本科"]
    )
    majors: Majors = Field(default_factory=list)
    skills: Skills = Field(default_factory=list)
    description: Description = ""
    headcount: Headcount = Field(1, description="Positions to fill (≥ 1).", examples=[30])
    status: JobStatus = Field("open", description="open (accepting candidates) or closed.")


class JobUpdate(JobFields):
    """A partial update: only the fields sent are changed; null clears an optional field."""

    external_id: NotNull[ExternalId] = Field(None, description="New external identifier.")
    title: NotNull[Name] = Field(None, description="Job title.")
    company: NotNull[Name] = Field(None, description="Employer name.")
    education: NotNull[Education] = Field(None, description="Minimum education.")
    majors: ClearedList[Majors] = Field(None, description="Accepted majors (replaces the list).")
    skills: ClearedList[Skills] = Field(None, description="Skills (replaces the list).")
    description: ClearedText[Description] = Field(None, description="Duties and requirements.")
    headcount: NotNull[Headcount] = Field(None, description="Positions to fill.")
    status: NotNull[JobStatus] = Field(None, description="open or closed.")


class JobPublic(OutputModel):
    """A stored job posting."""

    id: int = Field(description="Database id.")
    tenant: str = Field(description="Owning agency.")
    external_id: str
    title: str
    company: str
    city: str | None
    district: str | None
    industry: str | None
    education: EducationLevel
    experience: str | None
    majors: list[str]
    skills: list[str]
    description: str
    salary_min: int | None
    salary_max: int | None
    headcount: int
    status: JobStatus
    posted_at: date | None
    flag_count: int = Field(
        description="Conditions found that campus-recruitment rules forbid (GET …/compliance)."
    )
    created_at: datetime
    updated_at: datetime


class ComplianceFlag(OutputModel):
    """A forbidden condition found in a posting."""

    rule: str = Field(
        description="gender, school_tier, household_registration, age, marital_childbearing, "
        "ethnicity, region_of_origin or health."
    )
    field: str = Field(description="The posting field it is in.")
    span: str = Field(description="The words found.", examples=["限男性"])
    start: int = Field(description="Offset of the words in the field's text.")
    end: int = Field(description="Offset just past them.")
    explanation: str = Field(description="Why the rules forbid it, in Chinese.")


class JobCompliance(BaseModel):
    """The compliance flags of a posting, as checked at its last write."""

    job_id: int
    flagged: bool
    flags: list[ComplianceFlag]
