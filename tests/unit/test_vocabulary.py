"""One definition per vocabulary: the schemas, the tables and the pipeline agree with it."""

from __future__ import annotations

from typing import get_args

from app.schemas.common import normalize_education
from app.services.pipeline import EXITS, FORWARD
from app.tables import Graduate, Job, Requisition
from app.vocabulary import (
    EDUCATION_ALIASES,
    EDUCATION_LEVELS,
    GRADUATE_STATUSES,
    JOB_STATUSES,
    PIPELINE_STAGES,
    REQUISITION_STATUSES,
    EducationLevel,
    education_level,
)


def test_education_levels_rise_in_order_and_aliases_fold_onto_them() -> None:
    assert list(EDUCATION_LEVELS) == ["不限", "大专", "本科", "硕士", "博士"]
    assert [education_level(level) for level in EDUCATION_LEVELS] == [0, 1, 2, 3, 4]
    assert education_level("未知") == 0
    assert set(EDUCATION_ALIASES.values()) <= set(get_args(EducationLevel))
    assert normalize_education(" 硕士研究生 ") == "硕士"


def test_every_pipeline_stage_is_a_forward_step_or_an_exit() -> None:
    assert sorted(FORWARD + EXITS) == sorted(PIPELINE_STAGES)
    assert not set(FORWARD) & set(EXITS)


def test_table_constraints_list_the_vocabulary() -> None:
    def constraint(table: type, name: str) -> str:
        (check,) = [c for c in table.__table__.constraints if c.name.endswith(f"_{name}")]  # type: ignore[attr-defined]
        return str(check.sqltext)

    for table, statuses in (
        (Job, JOB_STATUSES),
        (Graduate, GRADUATE_STATUSES),
        (Requisition, REQUISITION_STATUSES),
    ):
        assert all(f"'{status}'" in constraint(table, "status") for status in statuses)
    assert all(f"'{level}'" in constraint(Job, "education") for level in EDUCATION_LEVELS)
