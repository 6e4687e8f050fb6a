"""Text: normalization, the domain dictionary, stopwords, synonyms, and backend equality."""

from __future__ import annotations

import pytest

from app.ranking.text import Tokenizer, normalize_text, rjieba_available
from tests.support import read_shared_jsonl

FIXTURES = [
    "熟悉西门子S7-1200/S7-1500 PLC编程，会用AutoCAD、SolidWorks画图",
    "精通C++、C#与.NET开发，了解Node.js和Vue.js，有3D打印经验优先",
    "电气工程及其自动化、电气自动化、自动化等相关专业，本科及以上学历",
    "负责数控机床与工业机器人调试，熟悉ＰＬＣ（全角）和变频器",
    "Java/Python/Golang 后端开发，熟悉MySQL、Redis、Kafka，2023届应届毕业生",
    "积极上进，吃苦耐劳，有团队合作精神；男女不限，年龄25岁以下",
    "",
    "   ，。；！",
]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(backend="jieba")


def test_normalize_text_folds_full_width_and_case() -> None:
    assert normalize_text("ＰＬＣ（Ｓ７－１２００）　AutoCAD") == "plc(s7-1200) autocad"


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("熟悉S7-1200编程", "s7-1200"),
        ("精通C++开发", "c++"),
        ("会用C#", "c#"),
        ("熟悉.NET框架", ".net"),
        ("熟悉Node.js", "node.js"),
        ("会AutoCAD制图", "autocad"),
        ("熟练使用SolidWorks", "solidworks"),
        ("有3D打印经验", "3d打印"),
        ("数控加工", "数控"),
    ],
)
def test_technical_tokens_stay_whole(tokenizer: Tokenizer, text: str, token: str) -> None:
    assert token in tokenizer.tokenize(text)


def test_compounds_split_into_the_dictionary_words_inside_them(tokenizer: Tokenizer) -> None:
    # A profile's 机械 meets a posting's 机械设计; a word with Latin letters stays whole.
    assert tokenizer.tokenize("机械设计，电气工程师") == ["机械", "设计", "电气", "工程", "工程师"]
    assert tokenizer.tokenize("有3D打印经验") == ["3d打印"]
    whole = Tokenizer(backend="jieba", split_compounds=False)
    assert whole.tokenize("机械设计，电气工程师") == ["机械设计", "电气工程师"]


def test_synonym_terms_stay_whole(tokenizer: Tokenizer) -> None:
    # 工业机器人 and 电气工程及其自动化 are terms of synonym groups: one idea, never split.
    assert tokenizer.tokenize("工业机器人调试") == ["工业机器人", "调试"]
    assert tokenizer.tokenize("电气工程及其自动化专业") == ["电气工程及其自动化"]


def test_protected_words_drop_whole_before_splitting(tokenizer: Tokenizer) -> None:
    # Split first, 土家族 would leave 土家 and 家族, 五官端正 would leave 五官 and 端正.
    text = "土家族，五官端正，形象气质佳"
    assert tokenizer.tokenize(text) == []
    unprotected = Tokenizer(backend="jieba", drop_protected=False).tokenize(text)
    assert {"家族", "五官", "形象"} <= set(unprotected)


def test_synonyms_map_to_one_canonical_term(tokenizer: Tokenizer) -> None:
    assert tokenizer.tokenize("电气自动化") == ["电气工程及其自动化"]
    assert tokenizer.tokenize("PLC编程") == ["plc"]
    assert tokenizer.tokenize("学士") == ["本科"]


def test_custom_lists_replace_the_shipped_ones() -> None:
    custom = Tokenizer(backend="jieba", stopwords=["熟悉"], synonym_groups=[("编程", "写代码")])
    assert custom.tokenize("熟悉写代码") == ["编程"]


@pytest.mark.skipif(not rjieba_available(), reason="rjieba is not installed")
def test_rjieba_equals_jieba_on_fixtures(tokenizer: Tokenizer) -> None:
    fast = Tokenizer(backend="rjieba")
    for text in FIXTURES:
        assert fast.tokenize(text) == tokenizer.tokenize(text), text


@pytest.mark.skipif(not rjieba_available(), reason="rjieba is not installed")
def test_rjieba_equals_jieba_on_shared_postings(tokenizer: Tokenizer) -> None:
    records = read_shared_jsonl("data/jobs_campus.jsonl", limit=800, step=4)
    records += read_shared_jsonl("data/jobs_zhaopin.jsonl", limit=1200, step=26)
    fast = Tokenizer(backend="rjieba")
    for record in records:
        text = f"{record['title']} {' '.join(record['skills'])} {record['description']}"  # type: ignore[arg-type]
        assert fast.tokenize(text) == tokenizer.tokenize(text), record["external_id"]


def test_ngrams_stay_inside_word_runs_and_skip_protected_words(tokenizer: Tokenizer) -> None:
    assert tokenizer.ngrams("【22届】游戏策划-C++", 2, 3) == [
        "22",
        "2届",
        "22届",
        "游戏",
        "戏策",
        "策划",
        "游戏策",
        "戏策划",
        "c",
    ]
    assert tokenizer.ngrams("女性向游戏", 2, 3) == ["向游", "游戏", "向游戏"]
    assert tokenizer.ngrams("", 2, 3) == []
