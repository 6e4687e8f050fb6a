"""MinHash near-duplicates on texts written for the test: same text in two cities is found,
a different text or another block is not, thin documents never pair, groups are unions."""

from __future__ import annotations

import numpy as np

from app.ranking.duplicates import (
    NUM_PERM,
    BlockSignatures,
    DuplicatePair,
    NearDuplicates,
    duplicate_groups,
    shingles,
    signature_rows,
    signatures,
)

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


def test_signature_rows_are_datasketchs_hash_values() -> None:
    documents = [DUTIES, OTHER, [*DUTIES, "杭州"], [], ["PLC"], DUTIES]
    expected = np.array([s.hashvalues for s in signatures(documents, num_perm=NUM_PERM)])
    assert np.array_equal(signature_rows(documents), expected)


def perturbed_corpus(seed: int) -> tuple[list[int], list[str], list[list[str]], list[list[str]]]:
    """Documents in three blocks, each a base text with 0 to 4 of its 40 words replaced (two
    copies' shingles then share from about 0.55 to 1, on both sides of the threshold), under
    titles that overlap or not; and two thin ones (three words) per base text."""
    rng = np.random.default_rng(seed)
    vocabulary = [f"w{number}" for number in range(400)]
    title_words = ["电气", "工程师", "java", "开发", "会计", "销售", "高级", "助理"]
    keys: list[int] = []
    blocks: list[str] = []
    texts: list[list[str]] = []
    titles: list[list[str]] = []
    for base in range(40):
        text = [str(word) for word in rng.choice(vocabulary, 40)]
        title = [str(word) for word in rng.choice(title_words, 2, replace=False)]
        for copy in range(7):
            replaced = text.copy()
            for position in rng.choice(40, int(rng.integers(0, 5)), replace=False):
                replaced[position] = str(rng.choice(vocabulary))
            keys.append(len(keys))
            blocks.append(f"company-{base % 3}")
            texts.append(replaced if copy < 5 else text[:3])
            other_title = [str(word) for word in rng.choice(title_words, 2, replace=False)]
            titles.append(title if copy % 3 else other_title)
    return keys, blocks, texts, titles


def neighbours(finder: NearDuplicates[int]) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    for pair in finder.pairs():
        found.setdefault(pair.first, set()).add(pair.second)
        found.setdefault(pair.second, set()).add(pair.first)
    return found


def similar_to(book: BlockSignatures[int], key: int) -> list[tuple[int, float]]:
    return book.similar_to(key, threshold=0.7, title_overlap=0.6, min_tokens=8)


def test_kept_signatures_pair_as_a_fit_of_the_block_would() -> None:
    keys, blocks, texts, titles = perturbed_corpus(seed=3)
    book = BlockSignatures[int]()
    book.put(keys, blocks, texts, titles)
    # Some removed and put back (rows move within their block), some removed for good.
    book.put(keys[::5], blocks[::5], texts[::5], titles[::5])
    gone = set(keys[1::7])
    for key in gone:
        book.remove(key)
    kept = [key for key in keys if key not in gone]
    expected = neighbours(
        NearDuplicates[int](threshold=0.7, title_overlap=0.6, min_tokens=8).fit(
            kept,
            [texts[key] for key in kept],
            blocks=[blocks[key] for key in kept],
            titles=[titles[key] for key in kept],
        )
    )
    found = {key: {other for other, _ in similar_to(book, key)} for key in kept}
    assert {key: others for key, others in found.items() if others} == expected
    # Pairs on both sides of the threshold and of the title condition: the test can tell.
    pairs = sum(len(others) for others in expected.values()) // 2
    without_titles = neighbours(
        NearDuplicates[int](threshold=0.7, min_tokens=8).fit(
            kept, [texts[key] for key in kept], blocks=[blocks[key] for key in kept]
        )
    )
    loose = neighbours(
        NearDuplicates[int](threshold=0.5, min_tokens=8).fit(
            kept, [texts[key] for key in kept], blocks=[blocks[key] for key in kept]
        )
    )
    count = sum(len(others) for others in without_titles.values()) // 2
    assert 0 < pairs < count < sum(len(others) for others in loose.values()) // 2
    assert similar_to(book, next(iter(gone))) == []
    assert len(book) == len(kept)
