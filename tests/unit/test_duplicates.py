"""MinHash near-duplicates on texts written for the test: same text in two cities is found,
a different text or another block is not, thin documents never pair, groups are unions."""

from __future__ import annotations

from app.ranking.duplicates import DuplicatePair, NearDuplicates, duplicate_groups, shingles

DUTIES = (
    "负责 自动化 产线 的 电气 设计 与 PLC 编程 参与 设备 安装 调试 和 技术 改造 编写 电气 图纸 "
    "配合 工艺 部门 完成 产线 升级"
).split()
OTHER = "负责 总账 报表 与 纳税 申报 审核 原始 凭证 编制 预算 分析 成本 费用 管理 档案".split()


def test_shingles_are_words_and_word_pairs() -> None:
    assert shingles(["电气", "设计", "PLC"]) == {"电气", "设计", "PLC", "电气 设计", "设计 PLC"}


def test_near_identical_texts_pair_within_a_block_only() -> None:
    finder = NearDuplicates[str](threshold=0.7, min_tokens=8).fit(
        ["nb", "hz", "acct", "other-co", "thin-1", "thin-2"],
        [DUTIES, [*DUTIES, "杭州"], OTHER, DUTIES, ["PLC"], ["PLC"]],
        blocks=["甲公司", "甲公司", "甲公司", "乙公司", "甲公司", "甲公司"],
    )
    pairs = finder.pairs()
    assert [(p.first, p.second) for p in pairs] == [("nb", "hz")]
    assert 0.7 <= pairs[0].similarity <= 1.0
    assert [key for key, _ in finder.similar_to(0)] == ["hz"]
    assert finder.similar_to(2) == []
    assert finder.similar_to(4) == []


def test_titles_must_overlap() -> None:
    keys = ["java", "mobile", "java-2"]
    titles = [["高级", "java", "开发", "工程师"], ["移动", "端", "产品", "经理"], ["java", "开发"]]
    finder = NearDuplicates[str](threshold=0.7, title_overlap=0.6).fit(
        keys, [DUTIES, DUTIES, DUTIES], titles=titles
    )
    assert [(p.first, p.second) for p in finder.pairs()] == [("java", "java-2")]


def test_groups_are_connected_components() -> None:
    pairs = [DuplicatePair(1, 2, 0.9), DuplicatePair(2, 3, 0.8), DuplicatePair(7, 8, 1.0)]
    assert duplicate_groups(pairs) == [[1, 2, 3], [7, 8]]
