"""Candidate-side constraints of FilterSpec on tiny corpora, in both directions."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from app.ranking import (
    FilterSpec,
    GraduateDocument,
    GraduateTextFields,
    JobDocument,
    JobTextFields,
    Ranker,
    RankerParams,
    StructuredFitWeights,
    TextFields,
    Tokenizer,
)

# Only candidate constraints: the pair filters (query against candidate) are off.
CANDIDATE_ONLY = FilterSpec(education=False, city=False, salary=False)

JOBS = [
    JobDocument(id=1, title="plc", city="宁波", education="本科", salary_min=6000, salary_max=9000),
    JobDocument(id=2, title="plc", city="宁波市", education="不限"),
    JobDocument(id=3, title="plc", city="杭州", education="硕士", salary_max=5000),
    JobDocument(id=4, title="plc", city="全国", education="大专"),
    JobDocument(id=5, title="plc", city="宁波", status="closed"),
    JobDocument(id=6, title="plc"),
]
GRADUATES = [
    GraduateDocument(
        id=11, skills=("plc",), city="宁波", education="本科", graduation_year=2024,
        expected_salary=8000,
    ),
    GraduateDocument(
        id=12, skills=("plc",), city="北京", desired_cities=("宁波", "上海"), education="硕士",
        graduation_year=2025,
    ),
    GraduateDocument(
        id=13, skills=("plc",), city="杭州", desired_cities=("上海",), education="大专",
        expected_salary=12000,
    ),
    GraduateDocument(
        id=14, skills=("plc",), desired_cities=("全国",), graduation_year=2023,
        expected_salary=5000,
    ),
    GraduateDocument(id=15, skills=("plc",), city="宁波", status="placed"),
    GraduateDocument(id=16, skills=("plc",), desired_cities=("浙江",)),
]  # fmt: skip


@pytest.fixture(scope="module")
def ranker() -> Ranker:
    fields = TextFields(
        job=JobTextFields(title=1, skills=0, majors=0, description=0),
        graduate=GraduateTextFields(major=0, skills=1, desired_roles=0, summary=0),
    )
    weights = StructuredFitWeights(text=1.0, major=0.0, education=0.0, city=0.0, salary=0.0)
    params = RankerParams(fields=fields, weights=weights, max_df=1.0)
    ranker = Ranker(params, tokenizer=Tokenizer(backend="jieba"))
    return ranker.fit(JOBS, GRADUATES)


def job_ids(ranker: Ranker, **constraints: object) -> list[int]:
    """Jobs for the placed graduate 15 (its own status must not matter), by id."""
    spec = dataclasses.replace(CANDIDATE_ONLY, **constraints)  # type: ignore[arg-type]
    return sorted(m.id for m in ranker.jobs_for_graduate(15, k=20, filters=spec))


def graduate_ids(ranker: Ranker, **constraints: object) -> list[int]:
    """Graduates for the closed job 5 (its own status must not matter), by id."""
    spec = dataclasses.replace(CANDIDATE_ONLY, **constraints)  # type: ignore[arg-type]
    return sorted(m.id for m in ranker.graduates_for_job(5, k=20, filters=spec))


def test_status_filters_the_candidate_side_only(ranker: Ranker) -> None:
    assert job_ids(ranker) == [1, 2, 3, 4, 6]
    assert job_ids(ranker, job_statuses=("closed",)) == [5]
    assert job_ids(ranker, job_statuses=("open", "closed")) == [1, 2, 3, 4, 5, 6]
    assert job_ids(ranker, status=False) == [1, 2, 3, 4, 5, 6]
    assert graduate_ids(ranker) == [11, 12, 13, 14, 16]
    assert graduate_ids(ranker, graduate_statuses=("placed",)) == [15]
    assert graduate_ids(ranker, status=False) == [11, 12, 13, 14, 15, 16]


def test_candidate_city_for_jobs(ranker: Ranker) -> None:
    assert job_ids(ranker, candidate_city="宁波") == [1, 2]  # 5 is closed; 全国 and none fail
    assert job_ids(ranker, candidate_city="宁波市") == [1, 2]
    assert job_ids(ranker, candidate_city=" 宁波 ") == [1, 2]
    assert job_ids(ranker, candidate_city="浙江") == [1, 2, 3]  # a province takes its cities
    assert job_ids(ranker, candidate_city="全国") == []
    assert job_ids(ranker, candidate_city="火星") == []


def test_candidate_city_for_graduates(ranker: Ranker) -> None:
    # 11 lives in 宁波, 12 wants it; 16 wants 浙江, which is not the city asked for.
    assert graduate_ids(ranker, candidate_city="宁波") == [11, 12]
    assert graduate_ids(ranker, candidate_city="宁波", status=False) == [11, 12, 15]
    assert graduate_ids(ranker, candidate_city="上海") == [12, 13]
    assert graduate_ids(ranker, candidate_city="浙江") == [11, 12, 13, 16]
    assert graduate_ids(ranker, candidate_city="北京") == [12]
    assert graduate_ids(ranker, candidate_city="全国") == []


def test_min_education(ranker: Ranker) -> None:
    # Jobs requiring 不限 pass a minimum; graduates of unknown education do not.
    assert job_ids(ranker, min_education="本科") == [1, 2, 3, 6]
    assert job_ids(ranker, min_education="硕士") == [2, 3, 6]
    assert graduate_ids(ranker, min_education="本科") == [11, 12]
    assert graduate_ids(ranker, min_education="大专") == [11, 12, 13]
    assert graduate_ids(ranker, min_education="不限") == [11, 12, 13, 14, 16]


def test_salary_constraints(ranker: Ranker) -> None:
    # Unknown salaries (面议, not stated) pass both.
    assert job_ids(ranker, min_salary=6000) == [1, 2, 4, 6]
    assert job_ids(ranker, min_salary=9001) == [2, 4, 6]
    assert graduate_ids(ranker, max_expected_salary=8000) == [11, 12, 14, 16]
    assert graduate_ids(ranker, max_expected_salary=4999) == [12, 16]


def test_graduation_years(ranker: Ranker) -> None:
    assert graduate_ids(ranker, graduation_years=(2024, 2025)) == [11, 12, 13, 16]
    assert graduate_ids(ranker, graduation_years=(2025, 2025)) == [12, 13, 16]


def test_constraints_of_the_other_side_are_ignored(ranker: Ranker) -> None:
    everything = [1, 2, 3, 4, 6]
    assert job_ids(ranker, graduation_years=(2000, 2000), max_expected_salary=1) == everything
    assert graduate_ids(ranker, min_salary=10**6) == [11, 12, 13, 14, 16]


def test_constraints_combine(ranker: Ranker) -> None:
    assert graduate_ids(ranker, candidate_city="宁波", min_education="硕士") == [12]
    assert job_ids(ranker, candidate_city="浙江", min_education="硕士", min_salary=6000) == [2]


def test_names_list_active_constraints_with_values() -> None:
    spec = FilterSpec(
        city=False,
        candidate_city="宁波",
        min_education="本科",
        graduation_years=(2024, 2025),
        max_expected_salary=8000,
        min_salary=6000,
    )
    assert spec.names("jobs") == (
        "status=open",
        "education",
        "salary",
        "candidate_city=宁波",
        "min_education=本科",
        "min_salary=6000",
    )
    assert spec.names("graduates") == (
        "status=seeking",
        "education",
        "salary",
        "candidate_city=宁波",
        "min_education=本科",
        "graduation_years=2024-2025",
        "max_expected_salary=8000",
    )
    both = FilterSpec(job_statuses=("open", "closed"), education=False, city=False, salary=False)
    assert both.names() == ("job_status=open,closed", "graduate_status=seeking")
    assert FilterSpec(status=False, education=False, city=False, salary=False).names() == ()


def test_explanation_names_the_constraints_passed(ranker: Ranker) -> None:
    spec = dataclasses.replace(CANDIDATE_ONLY, candidate_city="宁波")
    match = ranker.graduates_for_job(1, k=1, filters=spec, explain=True)[0]
    assert match.explanation is not None
    assert match.explanation.filters_passed == ("status=seeking", "candidate_city=宁波")
    assert ranker.explain(1, 11, filters=spec) is not None
    assert ranker.explain(3, 11, filters=spec) is None  # the job is in 杭州


def test_unknown_values_are_refused() -> None:
    with pytest.raises(ValueError, match="min_education"):
        FilterSpec(min_education="小学")
    with pytest.raises(ValueError, match="job_statuses"):
        FilterSpec(job_statuses=("paused",))
    with pytest.raises(ValueError, match="graduate_statuses"):
        FilterSpec(graduate_statuses=("open",))


SPECS = [
    FilterSpec(),
    FilterSpec(candidate_city="北京"),
    FilterSpec(candidate_city="广东", min_education="本科", min_salary=7000),
    FilterSpec(status=False, city=False, min_education="硕士", max_expected_salary=9000),
    FilterSpec(job_statuses=("closed",), graduate_statuses=("placed", "withdrawn")),
    FilterSpec(graduation_years=(2024, 2025), candidate_city="深圳", salary=False),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: ";".join(s.names()) or "none")
def test_batch_equals_one_query_with_constraints(spec: FilterSpec) -> None:
    rng = np.random.default_rng(11)
    words = ["plc", "电气", "java", "autocad", "数控", "销售", "财务", "python", "设计", "调试"]
    cities = ["北京", "深圳", "广州", "宁波", "全国", None]
    levels = ["不限", "大专", "本科", "硕士"]

    def pick(values: Sequence[Any]) -> Any:
        return values[int(rng.integers(len(values)))]

    jobs = [
        JobDocument(
            id=int(i),
            title=" ".join(rng.choice(words, 3)),
            city=pick(cities),
            education=pick(levels),
            salary_max=pick([None, 5000, 8000, 12000]),
            status=pick(["open", "open", "closed"]),
        )
        for i in rng.permutation(150)
    ]
    grads = [
        GraduateDocument(
            id=1000 + i,
            skills=tuple(rng.choice(words, 2)),
            city=pick(cities),
            desired_cities=tuple(c for c in (pick(cities), pick(cities)) if c),
            education=pick(levels),
            graduation_year=pick([None, 2023, 2024, 2025]),
            expected_salary=pick([None, 6000, 10000]),
            status=pick(["seeking", "seeking", "placed", "withdrawn"]),
        )
        for i in range(60)
    ]
    ranker = Ranker(RankerParams(max_df=1.0), tokenizer=Tokenizer(backend="jieba"))
    ranker.fit(jobs, grads)
    batch = ranker.jobs_for_graduates([g.id for g in grads], k=7, filters=spec)
    assert any(batch)
    for graduate, expected in zip(grads, batch, strict=True):
        one = ranker.jobs_for_graduate(graduate.id, k=7, filters=spec, explain=False)
        assert one == expected
    by_job = ranker.graduates_for_jobs([j.id for j in jobs], k=7, filters=spec)
    for job, expected in zip(jobs, by_job, strict=True):
        assert ranker.graduates_for_job(job.id, k=7, filters=spec, explain=False) == expected


def test_pair_city_filter_takes_the_desired_places_and_home() -> None:
    # Graduates naming places to work also take work where they live; naming none means anywhere.
    job = JobDocument(id=1, title="plc", city="宁波")
    graduates = [
        GraduateDocument(id=21, skills=("plc",), city="宁波", desired_cities=("杭州",)),
        GraduateDocument(id=22, skills=("plc",), city="上海", desired_cities=("杭州",)),
        GraduateDocument(id=23, skills=("plc",), city="上海", desired_cities=("宁波",)),
        GraduateDocument(id=24, skills=("plc",), city="上海"),
        GraduateDocument(id=25, skills=("plc",), desired_cities=("杭州",)),
    ]
    fields = TextFields(
        job=JobTextFields(title=1, skills=0, majors=0, description=0),
        graduate=GraduateTextFields(major=0, skills=1, desired_roles=0, summary=0),
    )
    params = RankerParams(fields=fields, max_df=1.0)
    ranker = Ranker(params, tokenizer=Tokenizer(backend="jieba")).fit([job], graduates)
    city_only = FilterSpec(status=False, education=False, city=True, salary=False)
    found = ranker.graduates_for_job(1, k=10, filters=city_only)
    assert sorted(m.id for m in found) == [21, 23, 24]
