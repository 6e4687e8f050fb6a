"""The synthetic demo generator: deterministic, realistic enough, and safe to feed the API."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date
from functools import cache
from typing import Any

import pytest

from app.demo import (
    GRADUATE_FIELDS,
    JOB_FIELDS,
    KEYONGTAI_COMPANY,
    KEYONGTAI_JOB_EXTERNAL_ID,
    SYNTHETIC_NOTICE,
    DemoDataset,
    generate_demo,
    generate_graduates,
    generate_jobs,
)
from app.demo.vocabulary import load_vocabulary
from app.schemas.graduates import GraduateCreate
from app.schemas.jobs import JobCreate
from app.vocabulary import EDUCATION_LEVELS

VOCABULARY = load_vocabulary()
COMMON_ROLES = VOCABULARY.common_roles
DISTRICTS_BY_NAME = VOCABULARY.districts_by_name
INDUSTRIES = VOCABULARY.industries
MAJOR_CLASSES = VOCABULARY.major_classes
MAJOR_SCHOOLS = VOCABULARY.major_schools
MAJORS_BY_NAME = VOCABULARY.majors_by_name
SCHOOLS_BY_NAME = VOCABULARY.schools_by_name

ELECTRICAL_MAJORS = {"电气工程及其自动化", "自动化"}
PROTECTED_KEYS = {
    "gender",
    "sex",
    "age",
    "birth_date",
    "birthday",
    "ethnicity",
    "nation",
    "hukou",
    "household_registration",
    "marital_status",
    "religion",
    "photo",
}
PROTECTED_WORDS = ("性别", "男性", "女性", "年龄", "岁以下", "民族", "户籍", "户口", "婚", "籍贯")
PHONE = re.compile(r"^1(3\d|5[0-35-9]|8\d)\d{8}$")


@cache
def default_demo() -> DemoDataset:
    """The default demo, generated once for the module."""
    return generate_demo()


def all_records() -> list[dict[str, Any]]:
    demo = default_demo()
    return [*demo.jobs, *demo.graduates]


def test_same_seed_gives_identical_data_and_another_seed_differs() -> None:
    assert generate_demo(n_jobs=120, n_graduates=300) == generate_demo(n_jobs=120, n_graduates=300)
    other = generate_demo(seed=7, n_jobs=120, n_graduates=300)
    assert other.jobs != generate_jobs(120)
    assert other.graduates != generate_graduates(300)


def test_graduates_of_a_smaller_run_are_a_prefix_of_a_larger_run() -> None:
    assert generate_graduates(500)[:200] == generate_graduates(200)


def test_default_sizes_are_a_few_hundred_postings_and_a_few_thousand_graduates() -> None:
    demo = default_demo()
    assert len(demo.jobs) == 400
    assert len(demo.graduates) == 3000
    assert len({job["company"] for job in demo.jobs}) >= 200


def test_records_have_exactly_the_api_fields_and_no_protected_attributes() -> None:
    demo = default_demo()
    assert all(tuple(job) == JOB_FIELDS for job in demo.jobs)
    assert all(tuple(graduate) == GRADUATE_FIELDS for graduate in demo.graduates)
    assert not PROTECTED_KEYS & set(JOB_FIELDS)
    assert not PROTECTED_KEYS & set(GRADUATE_FIELDS)


def test_free_text_never_asks_for_or_states_protected_attributes() -> None:
    demo = default_demo()
    texts = [job["description"] for job in demo.jobs]
    texts += [graduate["summary"] for graduate in demo.graduates]
    offending = [text for text in texts if any(word in text for word in PROTECTED_WORDS)]
    assert offending == []


def test_external_ids_are_unique_and_marked_synthetic() -> None:
    ids = [record["external_id"] for record in all_records()]
    assert len(ids) == len(set(ids))
    assert all(external_id.startswith("syn-") for external_id in ids)
    assert "SYNTHETIC" in SYNTHETIC_NOTICE


def test_distinct_employers_never_share_a_name() -> None:
    # An employer keeps one industry and district, so a name with two of them is two employers.
    homes: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for job in generate_jobs(1800):
        homes[job["company"]].add((job["industry"], job["district"]))
    assert all(len(places) == 1 for places in homes.values())
    assert len(homes) > 1000


def test_keyongtai_posting_is_the_defining_case() -> None:
    jobs = default_demo().jobs
    matches = [job for job in jobs if job["external_id"] == KEYONGTAI_JOB_EXTERNAL_ID]
    assert len(matches) == 1
    job = matches[0]
    assert job["company"] == KEYONGTAI_COMPANY == "浙江科甬泰自动化科技有限公司"
    assert job["headcount"] == 30
    assert job["majors"] == ["电气工程及其自动化", "自动化"]
    assert {"PLC", "电气设计", "CAD"} <= set(job["skills"])
    assert (job["city"], job["industry"], job["education"]) == ("宁波", "工业自动化", "本科")
    assert job["district"] in {"北仑", "镇海"}
    assert job["status"] == "open"
    assert sum(job["company"] == KEYONGTAI_COMPANY for job in jobs) == 1


def test_keyongtai_can_be_left_out() -> None:
    jobs = generate_jobs(50, include_keyongtai=False)
    assert len(jobs) == 50
    assert all(job["company"] != KEYONGTAI_COMPANY for job in jobs)


def test_enough_electrical_graduates_for_a_thirty_person_shortlist() -> None:
    electrical = [g for g in default_demo().graduates if g["major"] in ELECTRICAL_MAJORS]
    assert len(electrical) >= 60
    shortlist = [
        g
        for g in electrical
        if g["education"] in {"本科", "硕士", "博士"} and "宁波" in g["desired_cities"]
    ]
    assert len(shortlist) >= 30


def test_education_values_are_valid_and_graduates_have_a_real_level() -> None:
    demo = default_demo()
    assert {job["education"] for job in demo.jobs} <= set(EDUCATION_LEVELS)
    assert {g["education"] for g in demo.graduates} <= {"大专", "本科", "硕士", "博士"}


def test_education_fits_the_school_and_the_major_fits_the_level() -> None:
    for graduate in default_demo().graduates:
        vocational = "职业技术学院" in graduate["school"]
        assert (graduate["education"] == "大专") == vocational, graduate
        assert graduate["school"] in SCHOOLS_BY_NAME
        level = "专科" if vocational else "本科"
        assert level in MAJORS_BY_NAME[graduate["major"]].levels, graduate
        allowed = MAJOR_SCHOOLS.get(graduate["major"])
        assert allowed is None or graduate["school"] in allowed


def test_salary_ranges_are_ordered_and_about_a_tenth_are_negotiable() -> None:
    jobs = default_demo().jobs
    negotiable = 0
    for job in jobs:
        if job["salary_min"] is None:
            assert job["salary_max"] is None
            negotiable += 1
        else:
            assert 0 < job["salary_min"] <= job["salary_max"]
    assert 0.03 * len(jobs) < negotiable < 0.2 * len(jobs)
    expected = [g["expected_salary"] for g in default_demo().graduates]
    assert 3000 <= min(expected) and max(expected) <= 30000


def test_job_fields_are_plausible() -> None:
    for job in default_demo().jobs:
        assert job["city"] == "宁波"
        assert job["district"] in DISTRICTS_BY_NAME
        assert job["status"] in {"open", "closed"}
        assert job["headcount"] >= 1
        assert date(2026, 9, 1) <= date.fromisoformat(job["posted_at"]) <= date(2026, 11, 20)
        assert 1 <= len(job["title"]) <= 200
        assert len(job["description"]) <= 20_000
        assert 1 <= len(job["skills"]) <= 100
        assert 1 <= len(job["majors"]) <= 50
        assert set(job["majors"]) <= MAJOR_CLASSES.keys()
    industries = Counter(job["industry"] for job in default_demo().jobs)
    assert set(industries) == {industry.name for industry in INDUSTRIES}
    assert {"镇海", "北仑", "鄞州"} <= {job["district"] for job in default_demo().jobs}


def test_graduate_fields_are_plausible() -> None:
    graduates = default_demo().graduates
    for graduate in graduates:
        assert PHONE.match(graduate["phone"]), graduate["phone"]
        assert graduate["email"].endswith("@example.com")
        assert graduate["graduation_year"] in {2025, 2026, 2027}
        assert graduate["desired_cities"] and graduate["desired_roles"]
        assert 3 <= len(graduate["skills"]) <= 100
        assert 80 <= len(graduate["summary"]) <= 300
        assert graduate["status"] == "seeking"
    assert len({g["phone"] for g in graduates}) == len(graduates)
    assert len({g["email"] for g in graduates}) == len(graduates)
    wants_ningbo = sum("宁波" in g["desired_cities"] for g in graduates)
    assert wants_ningbo > 0.7 * len(graduates)


def test_every_record_passes_the_api_schemas() -> None:
    demo = default_demo()
    for job in demo.jobs:
        JobCreate.model_validate(job)
    for graduate in demo.graduates:
        GraduateCreate.model_validate(graduate)


def test_major_classes_cover_sixty_majors_with_the_expected_classes() -> None:
    assert len(MAJOR_CLASSES) >= 60
    assert MAJOR_CLASSES["电气工程及其自动化"] == "电气类"
    assert MAJOR_CLASSES["自动化"] == "自动化类"
    assert MAJOR_CLASSES["机械设计制造及其自动化"] == "机械类"
    assert MAJOR_CLASSES["计算机科学与技术"] == "计算机类"
    assert MAJOR_CLASSES["化学工程与工艺"] == "化工与制药类"
    assert MAJOR_CLASSES["会计学"] == "工商管理类"


def test_vocabularies_refer_only_to_majors_and_roles_that_exist() -> None:
    roles = [role for industry in INDUSTRIES for role in industry.roles] + list(COMMON_ROLES)
    titles = {role.title for role in roles}
    for role in roles:
        assert set(role.majors) <= MAJOR_CLASSES.keys(), role.title
        assert set(role.education) <= set(EDUCATION_LEVELS)
    for major in MAJORS_BY_NAME.values():
        assert set(major.roles) <= titles, major.name


def test_fifty_thousand_graduates_have_unique_ids_and_phones() -> None:
    graduates = generate_graduates(50_000)
    assert len(graduates) == 50_000
    assert len({g["external_id"] for g in graduates}) == 50_000
    assert len({g["phone"] for g in graduates}) == 50_000


def test_negative_counts_are_rejected_and_zero_gives_nothing() -> None:
    assert generate_jobs(0) == []
    assert generate_graduates(0) == []
    with pytest.raises(ValueError):
        generate_jobs(-1)
    with pytest.raises(ValueError):
        generate_graduates(-1)
