"""The posting rules on phrases written for the test: each family is found, with its span and
a Chinese explanation, and the usual harmless phrasings are not flags."""

from __future__ import annotations

import pytest

from app.compliance import check_posting, load_rules
from app.compliance.rules import MAX_MATCHES_PER_PATTERN

RULE_IDS = {
    "gender",
    "school_tier",
    "household_registration",
    "age",
    "marital_childbearing",
    "ethnicity",
    "region_of_origin",
    "health",
}


def rules_of(text: str) -> list[tuple[str, str]]:
    return [(flag.rule, flag.span) for flag in check_posting({"description": text})]


def test_every_family_is_shipped_with_a_chinese_explanation() -> None:
    rules = load_rules()
    assert {rule.id for rule in rules} == RULE_IDS
    for rule in rules:
        assert any("\u4e00" <= char <= "\u9fff" for char in rule.explanation), rule.id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("任职要求：限男性，吃苦耐劳", [("gender", "限男性")]),
        ("男性优先，能适应出差", [("gender", "男性优先")]),
        ("本岗位仅招女生", [("gender", "仅招女生")]),
        ("性别：女，普通话标准", [("gender", "性别:女")]),
        ("第一学历双一流，计算机专业", [("school_tier", "第一学历双一流")]),
        ("仅限985/211院校毕业生", [("school_tier", "仅限985")]),
        ("985/211本科及以上学历；", [("school_tier", "985/211本科")]),
        ("要求本地户籍，能长期稳定", [("household_registration", "本地户籍")]),
        ("年龄35周岁以下，大专以上", [("age", "年龄35周岁以下")]),
        ("22-30岁，身体健康", [("age", "22-30岁")]),
        ("已婚已育者优先", [("marital_childbearing", "已婚已育")]),
        ("两年内无生育计划", [("marital_childbearing", "无生育计划")]),
        ("限汉族", [("ethnicity", "限汉族")]),
        ("民族：汉", [("ethnicity", "民族:汉")]),
        ("籍贯：湖南", [("region_of_origin", "籍贯:湖南")]),
        ("不招河南人", [("region_of_origin", "不招河南人")]),
        ("乙肝携带者勿投", [("health", "乙肝")]),
        ("无精神病史", [("health", "无精神病史")]),
    ],
)
def test_each_family_is_found_with_its_span(text: str, expected: list[tuple[str, str]]) -> None:
    assert rules_of(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "男女不限，专业不限",
        "性别不限，年龄不限",
        "年满18周岁以上",
        "211/985院校优先；",
        "优先考虑985、211院校",
        "985、211、双一流优先。",
        "享有婚假、产假、陪产假",
        "提供婚育福利和子女教育金",
        "五险：养老、医疗、工伤、生育、失业",
        "可协助办理户口迁移，解决北京户口",
        "熟悉HIVE、Spark",
        "维护用户口碑",
        "民族品牌，历史悠久",
        "团队平均年龄26岁",
        "不限户籍、不限专业",
        "负责女装商品企划",
    ],
)
def test_harmless_phrasings_are_not_flags(text: str) -> None:
    assert rules_of(text) == []


def test_flag_carries_field_offsets_and_explanation() -> None:
    description = "岗位职责：PLC编程。任职要求：限男性。"
    flags = check_posting({"title": "电气工程师", "description": description, "skills": ["PLC"]})
    assert len(flags) == 1
    flag = flags[0]
    assert flag.field == "description"
    assert description[flag.start : flag.end] == flag.span == "限男性"
    assert "性别" in flag.explanation


def test_lists_are_checked_and_full_width_text_is_normalised() -> None:
    flags = check_posting({"skills": ["PLC", "男性优先"], "description": "年龄３５岁以下"})
    assert [(flag.field, flag.rule) for flag in flags] == [
        ("skills", "gender"),
        ("description", "age"),
    ]


def test_a_repeated_condition_is_flagged_a_bounded_number_of_times() -> None:
    flags = check_posting({"description": "已婚。" * 5_000})
    assert flags and {flag.rule for flag in flags} == {"marital_childbearing"}
    assert len(flags) == MAX_MATCHES_PER_PATTERN


def test_digits_before_a_marital_condition_stay_in_its_span() -> None:
    flags = check_posting({"description": "0" * 5_000 + "。3年内无生育计划"})
    assert [flag.span for flag in flags] == ["3年内无生育计划"]
