"""The closed vocabularies of the domain, each defined once: education levels and statuses.

Standard library only, so the ranking core, the API schemas, the database tables and the demo
generator all import the same definitions without pulling in each other's frameworks.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, get_args

EducationLevel = Literal["不限", "大专", "本科", "硕士", "博士"]

# Levels in rising order with their rank; iterating gives the levels, `in` tests a label.
EDUCATION_LEVELS: Mapping[str, int] = MappingProxyType(
    {level: rank for rank, level in enumerate(get_args(EducationLevel))}
)

# Spellings seen in Chinese postings and CVs, folded to the five stored levels.
EDUCATION_ALIASES: Mapping[str, EducationLevel] = MappingProxyType(
    {
        "学历不限": "不限",
        "无": "不限",
        "专科": "大专",
        "高职": "大专",
        "大专及以上": "大专",
        "学士": "本科",
        "本科及以上": "本科",
        "统招本科": "本科",
        "研究生": "硕士",
        "硕士研究生": "硕士",
        "硕士及以上": "硕士",
        "博士研究生": "博士",
    }
)


def education_level(education: str | None) -> int:
    """Rank of an education label; unknown labels count as 不限 (0)."""
    return EDUCATION_LEVELS.get((education or "").strip(), 0)


JobStatus = Literal["open", "closed"]
GraduateStatus = Literal["seeking", "placed", "withdrawn"]
RequisitionStatus = Literal["open", "filled", "closed"]
# A candidacy's stage in a requisition's hiring pipeline, forward steps first.
PipelineStage = Literal[
    "recommended", "contacted", "interviewed", "offered", "hired", "rejected", "withdrawn"
]
MatchRunStatus = Literal["running", "complete", "failed"]

JOB_STATUSES: tuple[JobStatus, ...] = get_args(JobStatus)
GRADUATE_STATUSES: tuple[GraduateStatus, ...] = get_args(GraduateStatus)
REQUISITION_STATUSES: tuple[RequisitionStatus, ...] = get_args(RequisitionStatus)
PIPELINE_STAGES: tuple[PipelineStage, ...] = get_args(PipelineStage)
MATCH_RUN_STATUSES: tuple[MatchRunStatus, ...] = get_args(MatchRunStatus)
