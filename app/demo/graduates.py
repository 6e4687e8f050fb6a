"""Seeded generator of SYNTHETIC graduate profiles; no real person."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple

from app.demo.draws import DEFAULT_SEED, Weighted, make_rng, round_to, sample_upto
from app.demo.vocabulary import Major, School, load_vocabulary

logger = logging.getLogger(__name__)

GRADUATE_FIELDS = (
    "external_id",
    "name",
    "phone",
    "email",
    "school",
    "major",
    "education",
    "graduation_year",
    "city",
    "desired_cities",
    "desired_roles",
    "skills",
    "summary",
    "expected_salary",
    "status",
)

SUMMARY_MIN_CHARS = 80
SUMMARY_MAX_CHARS = 300

_PHONE_PREFIXES = tuple(f"13{d}" for d in range(10)) + ("150", "151", "152", "153", "155")
_PHONE_PREFIXES += ("157", "158", "159", "180", "181", "182", "183", "186", "187", "188", "189")
# Odd and not a multiple of 5, so i -> (offset + i) * multiplier is a bijection modulo 10**8:
# phone numbers stay unique for up to 10**8 graduates yet do not look sequential.
_PHONE_MULTIPLIER = 73_856_093
_GRADUATE_PAY = {"大专": 5500, "本科": 7000, "硕士": 9500, "博士": 14000}
_EDUCATION_LABEL = {"大专": "专科", "本科": "本科", "硕士": "硕士研究生", "博士": "博士研究生"}
_PROJECT_PARTS = (
    "资料调研和方案设计",
    "建模与仿真分析",
    "程序编写与调试",
    "实验与数据整理",
    "测试与文档撰写",
)
_GRADUATION_YEARS = Weighted([(2025, 15), (2026, 35), (2027, 50)])


class _Draws(NamedTuple):
    schools: Weighted[School]
    majors_by_level: dict[str, Weighted[Major]]
    surnames: Weighted[tuple[str, str]]
    home_cities: Weighted[str]


@cache
def _draws() -> _Draws:
    vocabulary = load_vocabulary()
    return _Draws(
        schools=Weighted([(s, s.weight) for s in vocabulary.schools]),
        majors_by_level={
            level: Weighted([(m, m.weight) for m in vocabulary.majors if level in m.levels])
            for level in ("本科", "专科")
        },
        surnames=Weighted(
            [((name, pinyin), weight) for name, pinyin, weight in vocabulary.surnames]
        ),
        home_cities=Weighted(list(vocabulary.home_cities)),
    )


def _pick_major(rng: random.Random, level: str, school: School) -> Major:
    while True:
        major = _draws().majors_by_level[level].pick(rng)
        allowed = load_vocabulary().major_schools.get(major.name)
        if allowed is None or school.name in allowed:
            return major


def _make_summary(
    rng: random.Random,
    *,
    school: School,
    major: Major,
    education: str,
    graduation_year: int,
    major_skills: Sequence[str],
    roles: Sequence[str],
    target_city: str,
) -> str:
    vocabulary = load_vocabulary()
    theme = vocabulary.themes[major.theme]
    label = _EDUCATION_LABEL[education]
    a = major_skills[0]
    b = major_skills[1] if len(major_skills) > 1 else a
    c = major_skills[2] if len(major_skills) > 2 else b
    intro = rng.choice(
        (
            f"{school.name}{major.name}专业{label}，{graduation_year}届毕业生。",
            f"我是{school.name}{major.name}专业的{label}毕业生（{graduation_year}届）。",
            f"{graduation_year}届{label}毕业生，就读于{school.name}{major.name}专业。",
        )
    )
    courses = "、".join(rng.sample(theme.courses, 2))
    skill_line = rng.choice(
        (
            f"在校系统学习了{courses}等课程，熟悉{a}、{b}，能使用{c}完成基本工作。",
            f"专业基础扎实，掌握{a}和{b}，对{c}有一定实践经验。",
            f"学过{courses}等课程，具备{a}、{b}和{c}方面的能力。",
        )
    )
    intern_company = "宁波{}{}有限公司".format(
        "".join(rng.sample(vocabulary.company_word_chars, 2)),
        rng.choice(theme.intern_company_words),
    )
    internship = "{}在{}实习{}个月，{}，{}。".format(
        rng.choice((f"{graduation_year - 1}年暑期", f"{graduation_year - 1}年下半年")),
        intern_company,
        rng.randint(2, 6),
        rng.choice(theme.intern_tasks),
        rng.choice(("积累了一定的现场经验", "熟悉了企业的工作流程", "对岗位要求有了直观认识")),
    )
    project_title = rng.choice(theme.projects)
    part = rng.choice(_PROJECT_PARTS)
    project = rng.choice(
        (
            f"做过《{project_title}》的课程设计，主要负责{part}。",
            f"在校期间参与“{project_title}”项目，负责{part}。",
        )
    )
    award = "曾获{}。".format(
        rng.choice(vocabulary.awards)
        if rng.random() < 0.6
        else rng.choice(theme.contests) + rng.choice(("省级二等奖", "省级三等奖", "校级一等奖"))
    )
    closing = (
        f"希望在{target_city}从事{rng.choice(roles)}相关工作，{rng.choice(vocabulary.attitudes)}。"
    )
    optional = [
        (internship, rng.random() < 0.75),
        (project, rng.random() < 0.7),
        (award, rng.random() < 0.35),
    ]
    chosen = [text for text, wanted in optional if wanted]
    spare = [text for text, wanted in optional if not wanted]
    body = [intro, skill_line, *chosen, closing]
    while sum(map(len, body)) < SUMMARY_MIN_CHARS and spare:
        body.insert(-1, spare.pop(0))
    while sum(map(len, body)) > SUMMARY_MAX_CHARS and len(body) > 3:
        body.pop(-2)
    return "".join(body)


def _make_graduate(rng: random.Random, index: int, phone_offset: int) -> dict[str, Any]:
    vocabulary, draws = load_vocabulary(), _draws()
    school = draws.schools.pick(rng)
    education = rng.choice(vocabulary.school_education[school.kind])
    major = _pick_major(rng, "专科" if education == "大专" else "本科", school)
    surname, surname_pinyin = draws.surnames.pick(rng)
    given = rng.sample(vocabulary.given_name_chars, 1 if rng.random() < 0.25 else 2)
    name = surname + "".join(char for char, _ in given)
    handle = rng.choice(("", ".", "_")).join(
        (surname_pinyin, "".join(pinyin for _, pinyin in given))
    )
    number = index + 1
    suffix = (phone_offset + index) * _PHONE_MULTIPLIER % 10**8
    phone = f"{rng.choice(_PHONE_PREFIXES)}{suffix:08d}"
    graduation_year = _GRADUATION_YEARS.pick(rng)
    city = school.city if rng.random() < 0.45 else draws.home_cities.pick(rng)
    first_choice = "宁波" if rng.random() < 0.82 else rng.choice(vocabulary.neighbour_cities)
    extra = sample_upto(rng, (*vocabulary.neighbour_cities, city), 0, 2)
    desired_cities = list(dict.fromkeys((first_choice, *extra)))
    desired_roles = sample_upto(rng, major.roles, 1, 3)
    major_skills = sample_upto(rng, major.skills, 3, 7)
    english_pool = ("英语A级", "英语四级") if education == "大专" else ("英语四级", "英语六级")
    english = [rng.choice(english_pool)] if rng.random() < 0.75 else []
    general = sample_upto(rng, vocabulary.general_skills, 0, 2)
    pay = _GRADUATE_PAY[education] * major.salary_factor * rng.uniform(0.85, 1.2)
    return {
        "external_id": f"syn-grad-{number:06d}",
        "name": name,
        "phone": phone,
        "email": f"{handle}{number}@example.com",
        "school": school.name,
        "major": major.name,
        "education": education,
        "graduation_year": graduation_year,
        "city": city,
        "desired_cities": desired_cities,
        "desired_roles": desired_roles,
        "skills": list(dict.fromkeys((*major_skills, *english, *general))),
        "summary": _make_summary(
            rng,
            school=school,
            major=major,
            education=education,
            graduation_year=graduation_year,
            major_skills=major_skills,
            roles=desired_roles,
            target_city=first_choice,
        ),
        "expected_salary": round_to(pay, 500),
        "status": "seeking",
    }


def generate_graduates(n: int, *, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """Generate n synthetic graduates; the first k of n equal generate_graduates(k)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = make_rng("graduates", seed)
    phone_offset = rng.randrange(10**8)
    graduates = [_make_graduate(rng, index, phone_offset) for index in range(n)]
    logger.debug("generated %d synthetic graduates", n)
    return graduates
