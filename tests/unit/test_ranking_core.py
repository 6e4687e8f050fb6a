"""Vectors, top-k, structured fit, filters, explanations and index writes on tiny corpora."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from app.ranking import (
    CoherenceParams,
    FilterSpec,
    GraduateDocument,
    GraduateTextFields,
    JobDocument,
    JobTextFields,
    MajorFitLevels,
    Ranker,
    RankerParams,
    StructuredFitWeights,
    TextFields,
    TextModel,
    Tokenizer,
    topk_rows,
)

TEXT_ONLY = StructuredFitWeights(text=1.0, major=0.0, education=0.0, city=0.0, salary=0.0)
NO_FILTERS = FilterSpec(status=False, education=False, city=False, salary=False)


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(backend="jieba")


def simple_params(**changes: object) -> RankerParams:
    """Title-only jobs and skills-only graduates, no max_df pruning, no coherence weighting:
    easy to check by hand."""
    fields = TextFields(
        job=JobTextFields(title=1, skills=0, majors=0, description=0, title_ngrams=0),
        graduate=GraduateTextFields(major=0, skills=1, desired_roles=0, summary=0, role_ngrams=0),
    )
    base = RankerParams(
        fields=fields, weights=TEXT_ONLY, max_df=1.0, coherence=CoherenceParams(weight=0)
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_cosine_matches_hand_computation(tokenizer: Tokenizer) -> None:
    jobs = [JobDocument(id=1, title="plc 调试"), JobDocument(id=2, title="java")]
    graduate = GraduateDocument(id=9, skills=("plc",))
    params = dataclasses.replace(simple_params(), sublinear_tf=False)
    ranker = Ranker(params, tokenizer=tokenizer).fit(jobs, [graduate])
    # 3 documents; df(plc)=2, df(调试)=1, df(java)=1; smooth idf = ln((1+n)/(1+df)) + 1.
    idf_plc, idf_debug = math.log(4 / 3) + 1, math.log(4 / 2) + 1
    expected = idf_plc / math.hypot(idf_plc, idf_debug)
    matches = ranker.jobs_for_graduate(9, k=2, filters=NO_FILTERS)
    assert [m.id for m in matches] == [1, 2]
    assert matches[0].parts.cosine == pytest.approx(expected, rel=1e-6)
    assert matches[1].parts.cosine == 0.0
    # The text part is measured against the best eligible candidate: here job 1 itself.
    assert matches[0].score == matches[0].parts.text == pytest.approx(1.0)
    assert matches[0].explanation is not None
    assert matches[0].explanation.best_cosine == pytest.approx(expected, rel=1e-6)


def test_text_part_is_the_cosine_over_the_best_eligible_one(tokenizer: Tokenizer) -> None:
    jobs = [
        JobDocument(id=1, title="plc 调试", city="北京"),
        JobDocument(id=2, title="plc 调试 电气 设计", city="宁波"),
        JobDocument(id=3, title="plc 调试 电气 设计 java 销售", city="宁波"),
    ]
    graduate = GraduateDocument(id=9, skills=("plc", "调试"), desired_cities=("宁波",))
    ranker = Ranker(simple_params(), tokenizer=tokenizer).fit(jobs, [graduate])
    unfiltered = ranker.jobs_for_graduate(9, k=3, filters=NO_FILTERS)
    assert [m.id for m in unfiltered] == [1, 2, 3]
    best = unfiltered[0].parts.cosine
    for match in unfiltered:
        assert match.parts.text == pytest.approx(match.parts.cosine / best, rel=1e-6)
    # Job 1 is in another city: with the city filter job 2 is the best eligible, so it is 1.0.
    in_city = ranker.jobs_for_graduate(9, k=3)
    assert [m.id for m in in_city] == [2, 3]
    assert in_city[0].parts.text == pytest.approx(1.0)
    assert in_city[1].parts.text == pytest.approx(
        in_city[1].parts.cosine / in_city[0].parts.cosine, rel=1e-6
    )


def test_cosine_equals_sklearn_reference(tokenizer: Tokenizer) -> None:
    titles = ["plc 电气 调试 工程师", "java 后端 开发", "电气 设计 autocad", "数控 编程 plc plc"]
    skills = [("plc", "电气"), ("java", "mysql"), ("autocad",)]
    jobs = [JobDocument(id=i, title=t) for i, t in enumerate(titles)]
    grads = [GraduateDocument(id=100 + i, skills=s) for i, s in enumerate(skills)]
    ranker = Ranker(simple_params(), tokenizer=tokenizer).fit(jobs, grads)
    model = ranker.text_model_
    job_tokens = [model.job_field_tokens(j)["title"] for j in jobs]
    grad_tokens = [model.graduate_field_tokens(g)["skills"] for g in grads]
    reference = TfidfVectorizer(
        analyzer=lambda tokens: tokens, sublinear_tf=ranker.params_.sublinear_tf
    )
    matrix = reference.fit_transform(job_tokens + grad_tokens)
    expected = cosine_similarity(matrix[len(jobs) :], matrix[: len(jobs)])
    for row, graduate in enumerate(grads):
        matches = ranker.jobs_for_graduate(graduate.id, k=len(jobs), filters=NO_FILTERS)
        got = {m.id: m.parts.cosine for m in matches}
        for job in jobs:
            assert got[job.id] == pytest.approx(expected[row, job.id], abs=1e-6)


def test_topk_breaks_ties_by_id_and_skips_filtered() -> None:
    scores = np.array([0.5, 0.9, 0.5, -np.inf, 0.5, 0.1], dtype=np.float32)
    ids = np.array([40, 10, 30, 5, 20, 1], dtype=np.int64)
    assert ids[topk_rows(scores, ids, 3)].tolist() == [10, 20, 30]
    assert ids[topk_rows(scores, ids, 10)].tolist() == [10, 20, 30, 40, 1]
    assert topk_rows(scores, ids, 0).tolist() == []


def test_field_weights_change_ranking(tokenizer: Tokenizer) -> None:
    jobs = [
        JobDocument(id=1, title="java 开发", description="plc"),
        JobDocument(id=2, title="plc 开发", description="java"),
    ]
    graduate = GraduateDocument(id=5, skills=("plc",))
    fields = TextFields(job=JobTextFields(title=3, skills=0, majors=0, description=1))
    params = dataclasses.replace(simple_params(), fields=fields)
    ranker = Ranker(params, tokenizer=tokenizer).fit(jobs, [graduate])
    assert [m.id for m in ranker.jobs_for_graduate(5, filters=NO_FILTERS)] == [2, 1]


def test_every_listed_major_is_exact_then_class_related_unknown_unrelated(
    tokenizer: Tokenizer,
) -> None:
    job = JobDocument(id=1, title="工程师", majors=("电气工程及其自动化", "自动化"))
    graduates = [
        GraduateDocument(id=11, major="会计学"),  # 工商管理类: unrelated
        GraduateDocument(id=12, major="机械设计制造及其自动化"),  # 机械类 ↔ 自动化类
        GraduateDocument(id=13, major="智能电网信息工程"),  # 电气类, not listed
        GraduateDocument(id=14, major="自动化"),  # the second listed major
        GraduateDocument(id=15, major="电气自动化"),  # a synonym of the first
        GraduateDocument(id=16),  # no major stated
    ]
    weights = StructuredFitWeights(text=1.0, major=1.0, education=0, city=0, salary=0)
    ranker = Ranker(simple_params(weights=weights), tokenizer=tokenizer).fit([job], graduates)
    matches = ranker.graduates_for_job(1, k=6, filters=NO_FILTERS)
    levels = MajorFitLevels()
    assert [(m.id, m.parts.major) for m in matches] == [
        (14, levels.same_major),
        (15, levels.same_major),
        (13, levels.same_class),
        (12, levels.related_class),
        (16, levels.unknown),
        (11, levels.unrelated),
    ]
    names = [m.explanation.major_level for m in matches if m.explanation is not None]
    assert names == [
        "listed major",
        "listed major",
        "same class",
        "related class",
        "no major to compare",
        "unrelated major",
    ]
    # major=require keeps the listed majors and their classes only.
    required = ranker.graduates_for_job(
        1, k=6, filters=dataclasses.replace(NO_FILTERS, major_required=True)
    )
    assert [m.id for m in required] == [14, 15, 13]
    assert required[0].explanation is not None
    assert "major=require" in required[0].explanation.filters_passed
    # A posting that lists no majors requires nothing.
    ranker.upsert_jobs([JobDocument(id=2, title="工程师")])
    open_to_all = ranker.graduates_for_job(
        2, k=6, filters=dataclasses.replace(NO_FILTERS, major_required=True)
    )
    assert len(open_to_all) == 6


def test_a_query_sharing_no_term_is_ordered_by_major_alone(tokenizer: Tokenizer) -> None:
    job = JobDocument(id=1, title="会计", majors=("电气工程及其自动化",))
    graduates = [
        GraduateDocument(id=11, skills=("plc",), major="会计学"),
        GraduateDocument(id=12, skills=("plc",), major="智能电网信息工程"),
        GraduateDocument(id=13, skills=("plc",), major="电气工程及其自动化"),
    ]
    weights = StructuredFitWeights(text=1.0, major=1.0, education=0, city=0, salary=0)
    ranker = Ranker(simple_params(weights=weights), tokenizer=tokenizer).fit([job], graduates)
    for exhaustive in (False, True):
        matches = ranker.graduates_for_job(1, k=3, filters=NO_FILTERS, exhaustive=exhaustive)
        assert [m.id for m in matches] == [13, 12, 11]
        assert [m.parts.text for m in matches] == [0.0, 0.0, 0.0]
        assert [m.score for m in matches] == [m.parts.major for m in matches]


def test_hard_filters(tokenizer: Tokenizer) -> None:
    jobs = [
        JobDocument(id=1, title="plc", city="深圳", education="本科", salary_max=9000),
        JobDocument(id=2, title="plc", city="北京", education="本科"),
        JobDocument(id=3, title="plc", city="深圳", education="硕士"),
        JobDocument(id=4, title="plc", city="深圳", salary_min=5000, salary_max=6000),
        JobDocument(id=5, title="plc", city="深圳", status="closed"),
        JobDocument(id=6, title="plc", city="全国"),
    ]
    graduate = GraduateDocument(
        id=9, skills=("plc",), education="本科", desired_cities=("广东",), expected_salary=8000
    )
    ranker = Ranker(simple_params(), tokenizer=tokenizer).fit(jobs, [graduate])
    assert sorted(m.id for m in ranker.jobs_for_graduate(9)) == [1, 6]
    assert len(ranker.jobs_for_graduate(9, filters=NO_FILTERS)) == 6
    years = FilterSpec(graduation_years=(2024, 2025))
    ranker.upsert_graduates([dataclasses.replace(graduate, graduation_year=2023)])
    assert ranker.graduates_for_job(1, filters=years) == []
    assert [m.id for m in ranker.graduates_for_job(1)] == [9]


def test_batch_equals_one_query_at_a_time(tokenizer: Tokenizer) -> None:
    words = ["plc", "电气", "java", "autocad", "数控", "销售", "财务", "python", "设计", "调试"]
    rng = np.random.default_rng(7)
    jobs = [
        JobDocument(
            id=int(i), title=" ".join(rng.choice(words, 3)), city=str(rng.choice(["北京", "深圳"]))
        )
        for i in rng.permutation(200)
    ]
    grads = [
        GraduateDocument(id=1000 + i, skills=tuple(rng.choice(words, 2)), desired_cities=("北京",))
        for i in range(70)
    ]
    ranker = Ranker(simple_params(weights=StructuredFitWeights()), tokenizer=tokenizer)
    ranker.fit(jobs, grads)
    batch = ranker.jobs_for_graduates([g.id for g in grads], k=15)
    for graduate, expected in zip(grads, batch, strict=True):
        one = ranker.jobs_for_graduate(graduate.id, k=15, explain=False)
        assert [(m.id, m.score) for m in one] == [(m.id, m.score) for m in expected]
    by_job = ranker.graduates_for_jobs([j.id for j in jobs[:5]], k=5)
    assert by_job[0] == ranker.graduates_for_job(jobs[0].id, k=5, explain=False)


def test_upsert_and_remove_without_refit(tokenizer: Tokenizer) -> None:
    jobs = [JobDocument(id=1, title="plc 调试"), JobDocument(id=2, title="java 开发")]
    graduate = GraduateDocument(id=9, skills=("java",))
    ranker = Ranker(simple_params(), tokenizer=tokenizer).fit(jobs, [graduate])
    terms = ranker.text_model_.terms_.tolist()
    assert ranker.jobs_for_graduate(9, k=1)[0].id == 2
    ranker.upsert_jobs([JobDocument(id=3, title="java"), JobDocument(id=2, title="plc")])
    assert [m.id for m in ranker.jobs_for_graduate(9, k=3)] == [3, 1, 2]
    assert ranker.remove_jobs([3, 77]) == 1
    assert [m.id for m in ranker.jobs_for_graduate(9, k=3)] == [1, 2]
    assert ranker.text_model_.terms_.tolist() == terms
    ranker.jobs_index_.compact()
    assert [m.id for m in ranker.jobs_for_graduate(9, k=3)] == [1, 2]


def test_explanation_lists_terms_filters_and_missing_skills(tokenizer: Tokenizer) -> None:
    job = JobDocument(id=1, title="plc 电气", skills=("PLC", "AutoCAD", "EPLAN"))
    other = JobDocument(id=2, title="java")
    graduate = GraduateDocument(id=9, skills=("PLC编程", "电气"), summary="会用AutoCAD")
    ranker = Ranker(simple_params(), tokenizer=tokenizer).fit([job, other], [graduate])
    match = ranker.jobs_for_graduate(9, k=1)[0]
    explanation = match.explanation
    assert explanation is not None
    assert [t.term for t in explanation.terms] == ["plc", "电气"]
    assert sum(t.contribution for t in explanation.terms) == pytest.approx(match.parts.cosine)
    assert explanation.major_level == "no major to compare"
    for term in explanation.terms:
        assert term.contribution == pytest.approx(term.query_weight * term.document_weight)
    assert explanation.missing_skills == ("EPLAN",)
    assert explanation.filters_passed == ("status=open", "education", "city", "salary")
    assert ranker.explain(1, 9) == explanation


def test_documents_carry_no_protected_attributes() -> None:
    forbidden = {
        "name",
        "phone",
        "email",
        "gender",
        "sex",
        "age",
        "birth",
        "ethnicity",
        "nation",
        "hukou",
        "household",
        "registration",
        "marital",
        "married",
    }
    for cls in (JobDocument, GraduateDocument):
        names = {f.name for f in dataclasses.fields(cls)}
        assert not {n for n in names if any(word in n for word in forbidden)}, cls


def test_protected_words_in_free_text_do_not_change_scores(tokenizer: Tokenizer) -> None:
    jobs = [
        JobDocument(id=1, title="plc 调试", description="电气"),
        JobDocument(id=2, title="java"),
    ]
    plain = GraduateDocument(id=9, skills=("plc",), summary="电气自动化 调试")
    noisy = dataclasses.replace(plain, summary="电气自动化 调试，男，25岁，已婚，汉族，本地户口")
    params = dataclasses.replace(simple_params(), fields=TextFields())
    ranker = Ranker(params, tokenizer=tokenizer).fit(jobs, [plain])
    assert ranker.jobs_for_graduate(noisy) == ranker.jobs_for_graduate(plain)


def test_text_model_transform_drops_unknown_terms(tokenizer: Tokenizer) -> None:
    words_only = TextFields(job=JobTextFields(title_ngrams=0))
    model = TextModel(tokenizer=tokenizer, fields=words_only, max_df=1.0)
    model.fit([JobDocument(id=1, title="plc")])
    vectors = model.transform_tokens([["plc", "未见过"], ["未见过"]])
    assert isinstance(vectors, sp.csr_matrix) and vectors.dtype == np.float32
    assert vectors.toarray().tolist() == [[1.0], [0.0]]
