"""Protected attributes never move a score: a profile's gender, age, ethnicity, household
registration or marital status, stated in any free text a caller can write (summary, skills,
desired roles), leaves every score and every order identical, with the ranker refitted on
the changed corpus. With the school signal off, school names do the same."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.demo import generate_graduates, generate_jobs
from app.matching.documents import document_from_values
from app.ranking import GraduateDocument, JobDocument, Ranker, Tokenizer
from app.ranking.lexicon import protected_terms

ETHNIC_GROUPS = sorted(term for term in protected_terms() if term.endswith("族") and term != "民族")
PLACES = [
    "宁波",
    "宁波市",
    "浙江",
    "浙江宁波",
    "河南省",
    "四川成都",
    "北京",
    "新疆",
    "本地",
    "农村",
]


def _jobs() -> list[JobDocument]:
    jobs = []
    for n, values in enumerate(generate_jobs(25, seed=3), start=1):
        document = document_from_values(
            "job", {k: v for k, v in values.items() if k != "external_id"}
        )
        assert isinstance(document, JobDocument)
        jobs.append(replace(document, id=n))
    return jobs


def _graduates() -> list[GraduateDocument]:
    graduates = []
    for n, values in enumerate(generate_graduates(30, seed=3), start=1):
        values = {k: v for k, v in values.items() if k != "external_id"}
        document = document_from_values("graduate", values)
        assert isinstance(document, GraduateDocument)
        graduates.append(replace(document, id=n))
    return graduates


JOBS = _jobs()
GRADUATES = _graduates()

ages = st.integers(min_value=16, max_value=60)
genders = st.sampled_from(["男", "女", "男性", "女性", "男生", "女生"])
marital = st.sampled_from(["已婚", "未婚", "离异", "已婚已育", "未婚未育", "已育"])
ethnic = st.sampled_from(ETHNIC_GROUPS)
places = st.sampled_from(PLACES)

mentions = st.one_of(
    genders.map(lambda g: f"性别：{g}"),
    genders,
    ages.map(lambda a: f"年龄：{a}岁"),
    ages.map(lambda a: f"{a}周岁"),
    ages.map(lambda a: f"{a}岁"),
    ethnic.map(lambda e: f"民族：{e}"),
    ethnic,
    places.map(lambda p: f"户籍：{p}"),
    places.map(lambda p: f"{p}户口"),
    places.map(lambda p: f"户口所在地：{p}"),
    places.map(lambda p: f"籍贯：{p}"),
    marital.map(lambda m: f"婚姻状况：{m}"),
    marital,
)


def _with_mentions(
    graduate: GraduateDocument, said: list[str], where: str, at_start: bool
) -> GraduateDocument:
    if where == "summary":
        sentence = "。".join(said) + "。"
        summary = sentence + graduate.summary if at_start else graduate.summary + "。" + sentence
        return replace(graduate, summary=summary)
    field = graduate.skills if where == "skills" else graduate.desired_roles
    items = (*said, *field) if at_start else (*field, *said)
    if where == "skills":
        return replace(graduate, skills=items)
    return replace(graduate, desired_roles=items)


def _all_rankings(ranker: Ranker) -> list[list[tuple[int, float]]]:
    rankings = [
        [(m.id, m.score) for m in ranker.jobs_for_graduate(g.id, len(JOBS))] for g in GRADUATES
    ]
    rankings += [
        [(m.id, m.score) for m in ranker.graduates_for_job(j.id, len(GRADUATES))] for j in JOBS
    ]
    return rankings


BASELINE = _all_rankings(Ranker().fit(JOBS, GRADUATES))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=st.integers(min_value=0, max_value=len(GRADUATES) - 1),
    said=st.lists(mentions, min_size=1, max_size=5),
    where=st.sampled_from(["summary", "skills", "desired_roles"]),
    at_start=st.booleans(),
)
@pytest.mark.slow
def test_protected_mentions_leave_every_score_and_order_identical(
    target: int, said: list[str], where: str, at_start: bool
) -> None:
    graduates = list(GRADUATES)
    graduates[target] = _with_mentions(graduates[target], said, where, at_start)
    assert _all_rankings(Ranker().fit(JOBS, graduates)) == BASELINE


def test_a_mention_that_is_not_protected_does_move_scores() -> None:
    """The property is not vacuous: the same edit with a skill instead does change scores."""
    graduates = list(GRADUATES)
    graduates[0] = _with_mentions(graduates[0], ["PLC编程", "电气设计"], "summary", False)
    assert _all_rankings(Ranker().fit(JOBS, graduates)) != BASELINE


schools = st.sampled_from(
    ["宁波大学", "宁波工程学院", "浙江大学", "浙江工商职业技术学院", "北京理工大学珠海学院"]
)
tiers = st.sampled_from(["985", "211", "双一流", "一本"])


def _school_off_ranker(graduates: list[GraduateDocument]) -> Ranker:
    return Ranker(tokenizer=Tokenizer(drop_schools=True)).fit(JOBS, graduates)


SCHOOL_OFF_BASELINE = _all_rankings(_school_off_ranker(GRADUATES))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=st.integers(min_value=0, max_value=len(GRADUATES) - 1),
    school=schools,
    tier=tiers,
    where=st.sampled_from(["summary", "skills"]),
)
def test_with_school_off_school_names_leave_scores_identical(
    target: int, school: str, tier: str, where: str
) -> None:
    graduates = list(GRADUATES)
    changed = replace(graduates[target], school=school)
    graduates[target] = _with_mentions(changed, [f"毕业于{school}", f"{tier}院校"], where, True)
    assert _all_rankings(_school_off_ranker(graduates)) == SCHOOL_OFF_BASELINE
