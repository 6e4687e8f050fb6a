"""Graduate profile shapes: GraduateCreate, GraduateUpdate, GraduatePublic."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints

from app.schemas.common import (
    MAX_GRADUATE_SKILLS,
    MAX_ITEM_CHARS,
    MAX_LIST_ITEMS,
    MAX_TEXT_CHARS,
    ClearedList,
    ClearedText,
    Education,
    ExternalId,
    InputModel,
    ItemList,
    NotNull,
    OptionalPlace,
    OptionalShort,
    OutputModel,
    Salary,
    SpreadsheetNumber,
    clean_text,
    empty_to_none,
    null_to_empty_list,
    null_to_empty_text,
    nullable_list_schema,
    number_to_text,
)
from app.vocabulary import EducationLevel, GraduateStatus

_PhoneText = Annotated[
    str, StringConstraints(max_length=MAX_ITEM_CHARS, pattern=r"^\+?[0-9][0-9 \-]{5,30}$")
]
_EmailText = Annotated[
    str, StringConstraints(max_length=MAX_ITEM_CHARS, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
# The pattern sits on the str branch: on `str | None` itself it fails on None (a 500).
Phone = Annotated[
    _PhoneText | None,
    BeforeValidator(empty_to_none),
    BeforeValidator(
        number_to_text,
        # A phone stored as a number in a spreadsheet: at least the pattern's 6 digits.
        json_schema_input_type=_PhoneText | Annotated[SpreadsheetNumber, Field(ge=100_000)] | None,
    ),
    Field(description="Mobile phone (personal data under PIPL).", examples=["13800000000"]),
]
Email = Annotated[
    _EmailText | None,
    BeforeValidator(empty_to_none),
    Field(
        description="E-mail address (personal data under PIPL).", examples=["zhang.san@example.com"]
    ),
]


_CityList = Annotated[ItemList, Field(max_length=MAX_LIST_ITEMS)]
_RoleList = Annotated[ItemList, Field(max_length=MAX_LIST_ITEMS)]
_SkillList = Annotated[ItemList, Field(max_length=MAX_GRADUATE_SKILLS)]
_SummaryText = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]

# Optional lists and text are stored empty, not null: null is accepted (and clears on PATCH).
DesiredCities = Annotated[
    _CityList,
    BeforeValidator(
        null_to_empty_list, json_schema_input_type=nullable_list_schema(MAX_LIST_ITEMS)
    ),
    Field(description="Cities the graduate would work in.", examples=[["宁波", "杭州"]]),
]
DesiredRoles = Annotated[
    _RoleList,
    BeforeValidator(
        null_to_empty_list, json_schema_input_type=nullable_list_schema(MAX_LIST_ITEMS)
    ),
    Field(description="Roles the graduate is after.", examples=[["电气工程师", "PLC工程师"]]),
]
GraduateSkills = Annotated[
    _SkillList,
    BeforeValidator(
        null_to_empty_list, json_schema_input_type=nullable_list_schema(MAX_GRADUATE_SKILLS)
    ),
    Field(
        description=f"Skills and keyword tags (≤ {MAX_GRADUATE_SKILLS}).",
        examples=[["PLC", "AutoCAD", "电气设计", "英语四级"]],
    ),
]
Summary = Annotated[
    _SummaryText,
    BeforeValidator(clean_text),
    BeforeValidator(null_to_empty_text, json_schema_input_type=_SummaryText | None),
    Field(
        description="Internships, projects and self-introduction as free text.",
        examples=[
            "在宁波某自动化企业实习三个月，参与产线PLC程序调试；毕业设计为基于S7-1200的恒压供水系统。"
        ],
    ),
]


class GraduateFields(InputModel):
    """Fields shared by create and update."""

    name: OptionalShort = Field(
        None, description="Full name (personal data under PIPL).", examples=["张伟"]
    )
    phone: Phone = None
    email: Email = None
    school: OptionalShort = Field(
        None, description="School or university.", examples=["宁波工程学院"]
    )
    major: OptionalShort = Field(
        None, description="Major studied.", examples=["电气工程及其自动化"]
    )
    graduation_year: int | None = Field(
        None, ge=1950, le=2100, description="Year of graduation.", examples=[2026]
    )
    city: OptionalPlace = Field(
        None, description="Where the graduate lives now.", examples=["宁波"]
    )
    expected_salary: Salary | None = Field(
        None, description="Expected monthly salary in CNY.", examples=[7000]
    )


class GraduateCreate(GraduateFields):
    """A new graduate profile, or one to upsert by external_id."""

    external_id: ExternalId = Field(
        description="Your identifier of the profile; unique within the tenant.",
        examples=["nb-2026-0001"],
    )
    education: Education = Field(
        "不限",
        description="Highest education: 大专, 本科, 硕士, 博士 (不限 = unknown).",
        examples=["本科"],
    )
    desired_cities: DesiredCities = Field(default_factory=list)
    desired_roles: DesiredRoles = Field(default_factory=list)
    skills: GraduateSkills = Field(default_factory=list)
    summary: Summary = ""
    status: GraduateStatus = Field("seeking", description="seeking, placed or withdrawn.")
    personalised: bool = Field(
        True,
        description="false: the graduate refuses personalised recommendations (PIPL art. 24); "
        "their job list is then ranked by recency within their stated filters, and batch "
        "re-ranking leaves them out.",
    )


class GraduateUpdate(GraduateFields):
    """A partial update: only the fields sent are changed; null clears an optional field."""

    external_id: NotNull[ExternalId] = Field(None, description="New external identifier.")
    education: NotNull[Education] = Field(None, description="Highest education.")
    desired_cities: ClearedList[DesiredCities] = Field(
        None, description="Cities (replaces the list)."
    )
    desired_roles: ClearedList[DesiredRoles] = Field(None, description="Roles (replaces the list).")
    skills: ClearedList[GraduateSkills] = Field(None, description="Skills (replaces the list).")
    summary: ClearedText[Summary] = Field(None, description="Free-text summary.")
    status: NotNull[GraduateStatus] = Field(None, description="seeking, placed or withdrawn.")
    personalised: NotNull[bool] = Field(
        None, description="false: opt out of personalised recommendations."
    )


class GraduatePublic(OutputModel):
    """A stored graduate profile."""

    id: int
    tenant: str
    external_id: str
    name: str | None
    phone: str | None
    email: str | None
    school: str | None
    major: str | None
    education: EducationLevel
    graduation_year: int | None
    city: str | None
    desired_cities: list[str]
    desired_roles: list[str]
    skills: list[str]
    summary: str
    expected_salary: int | None
    status: GraduateStatus
    personalised: bool
    created_at: datetime
    updated_at: datetime
