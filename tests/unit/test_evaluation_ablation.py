"""The ablation's variants each change one choice, and a run over a tiny set reports every
variant that changes something."""

from __future__ import annotations

from app.evaluation.ablation import VARIANTS, Variant, changes_anything, run_ablation
from app.evaluation.sets import LabelledSet
from app.ranking import GraduateDocument, JobDocument, RankerParams


def test_every_variant_is_a_change_of_some_parameters() -> None:
    names = [variant.name for variant in VARIANTS]
    assert len(set(names)) == len(names) and names[0] == "as shipped"
    plain = RankerParams()
    tuned = next(v for v in VARIANTS if v.name == "text choices of 2026-11-30").params(plain)
    assert tuned != plain
    for variant in VARIANTS[1:]:
        assert changes_anything(variant, [plain, tuned]), variant.name
    assert not changes_anything(VARIANTS[0], [plain, tuned])


def test_ablation_skips_variants_that_change_nothing() -> None:
    jobs = [
        JobDocument(0, title="PLC电气工程师", skills=("PLC", "电气设计")),
        JobDocument(1, title="会计", skills=("财务报表", "记账")),
        JobDocument(2, title="销售代表", skills=("客户开发",)),
    ]
    queries = [
        GraduateDocument(0, skills=("PLC",), desired_roles=("电气工程师",)),
        GraduateDocument(1, skills=("记账",), desired_roles=("会计",)),
    ]
    tiny = LabelledSet(
        name="tiny",
        jobs=jobs,
        job_ids=["j0", "j1", "j2"],
        queries=queries,
        query_ids=["q0", "q1"],
        qrels={"q0": {"j0": 1}, "q1": {"j1": 1}},
        labels="by hand",
    )
    same = Variant("same again", lambda params: params)
    raw = Variant("sublinear flipped", lambda p: RankerParams(sublinear_tf=not p.sublinear_tf))
    result = run_ablation([tiny], [], variants=[VARIANTS[0], same, raw])
    assert list(result) == ["as shipped", "sublinear flipped"]
    shipped = result["as shipped"]["sets"]["tiny"]["all"]
    # Each query's own posting shares its words and nothing else does: found first.
    assert shipped["mrr"] == 1.0 and shipped["ndcg@10"] == 1.0
