"""Field-normalised vectors, the character n-gram fields and coherence-weighted postings on
corpora small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from app.ranking import (
    CoherenceParams,
    GraduateDocument,
    GraduateTextFields,
    JobDocument,
    JobTextFields,
    TextFields,
    TextModel,
    Tokenizer,
)
from app.ranking.coherence import fit_associations, keep_top_per_row, weigh_by_coherence
from app.ranking.fields import field_marker, mark_fields

OFF = CoherenceParams(weight=0)


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(backend="jieba")


def test_keep_top_per_row_matches_a_sort() -> None:
    rng = np.random.default_rng(7)
    dense = rng.random((40, 300)) * (rng.random((40, 300)) < 0.3)
    dense[3] = 0
    kept = keep_top_per_row(sp.csr_matrix(dense), 5).toarray()
    for row, values in zip(kept, dense, strict=True):
        expected = np.sort(values[values > 0])[::-1][:5]
        assert np.sort(row[row > 0])[::-1] == pytest.approx(expected)
        assert set(np.flatnonzero(row)) <= set(np.flatnonzero(values))


def test_keep_top_per_row_leaves_short_rows_alone() -> None:
    matrix = sp.csr_matrix(np.array([[0.0, 2.0, 1.0], [3.0, 0.0, 0.0]], dtype=np.float32))
    assert keep_top_per_row(matrix, 2).toarray().tolist() == matrix.toarray().tolist()
    assert keep_top_per_row(matrix, 1).toarray().tolist() == [[0, 2, 0], [3, 0, 0]]
    assert keep_top_per_row(matrix, 0).nnz == 0


def test_associations_pair_terms_that_share_documents() -> None:
    # Terms 0 and 1 always come together, term 2 only with term 3.
    vectors = sp.csr_matrix(
        np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 1, 0, 0]], dtype=np.float32)
    )
    associations = fit_associations(vectors, CoherenceParams(context=4, partners=1))
    assert associations.toarray().tolist() == [
        [0, 2, 0, 0],
        [2, 0, 0, 0],
        [0, 0, 0, 1],
        [0, 0, 1, 0],
    ]


def test_coherence_reweights_own_terms_only_and_keeps_unit_length() -> None:
    associations = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=np.float32))
    vectors = sp.csr_matrix(np.array([[0.8, 0.6, 0], [0, 0, 1], [1, 0, 0]], dtype=np.float32))
    weighted = weigh_by_coherence(vectors, associations, CoherenceParams(weight=0.5))
    # Row 0: support (0.6, 0.8) from the other term; 0.5·(0.8, 0.6) + 0.5·(0.6, 0.8), normalised.
    # Rows 1 and 2 hold no associated pair, and term 1 is not added to row 2.
    expected = np.array([[0.5**0.5, 0.5**0.5, 0], [0, 0, 1], [1, 0, 0]])
    assert weighted.toarray() == pytest.approx(expected)
    unchanged = weigh_by_coherence(vectors, associations, OFF)
    assert unchanged.toarray().tolist() == vectors.toarray().tolist()


def test_marked_fields_skip_empty_and_unweighted_fields() -> None:
    fields = {"title": ["plc", "工程师"], "skills": [], "description": ["调试"], "industry": ["x"]}
    weights = {"title": 3.0, "skills": 2.0, "description": 1.0, "industry": 0.0}
    assert mark_fields("job", fields, weights) == [
        field_marker("job", "title"),
        "plc",
        "工程师",
        field_marker("job", "description"),
        "调试",
    ]


def test_fields_are_weighted_after_normalisation(tokenizer: Tokenizer) -> None:
    fields = TextFields(job=JobTextFields(title=3, description=1))
    model = TextModel(tokenizer=tokenizer, fields=fields, max_df=1.0, coherence=OFF)
    model.fit_tokens([["a", "b", "c"]])
    title, description = field_marker("job", "title"), field_marker("job", "description")
    # Title weight 3, description 1: [3·(1,0,0) + 1·(0,1,1)/√2] normalised, not the raw counts.
    vector = model.transform_tokens([[title, "a", description, "b", "c"]]).toarray()[0]
    expected = np.array([3, 0.5**0.5, 0.5**0.5]) / np.hypot(3, 1)
    assert vector == pytest.approx(expected, rel=1e-6)
    plain = model.transform_tokens([["a", "b", "c"], []]).toarray()
    assert plain == pytest.approx(np.array([[3**-0.5] * 3, [0, 0, 0]]))


def test_a_long_description_does_not_drown_the_title(tokenizer: Tokenizer) -> None:
    filler = "，".join(["负责客户关系维护", "市场开拓", "销售数据统计", "团队协作"] * 5)
    jobs = [
        JobDocument(id=1, title="plc 工程师", description=f"{filler} plc"),
        JobDocument(id=2, title="销售专员", description=f"{filler} plc"),
    ]
    fields = TextFields(job=JobTextFields(title=1, skills=0, majors=0, description=1))
    model = TextModel(tokenizer=tokenizer, fields=fields, max_df=1.0, coherence=OFF).fit(jobs)
    vectors = model.transform_jobs(jobs)
    plc = model.term_index()["plc"]
    # Half of the vector's weight is the title's, however long the description is.
    title_only = TextModel(
        tokenizer=tokenizer,
        fields=TextFields(job=JobTextFields(title=1, skills=0, majors=0, description=0)),
        max_df=1.0,
        coherence=OFF,
    ).fit(jobs)
    assert (
        vectors[0, plc] > 0.5 * title_only.transform_jobs(jobs)[0, title_only.term_index()["plc"]]
    )
    assert np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel() == pytest.approx([1, 1])


def test_only_jobs_are_weighted_and_one_equals_many(tokenizer: Tokenizer) -> None:
    jobs = [
        JobDocument(id=1, title="会计", skills=("财务报表", "税法", "篮球")),
        JobDocument(id=2, title="会计助理", skills=("财务报表", "税法")),
        JobDocument(id=3, title="会计", skills=("财务报表", "审计")),
        JobDocument(id=4, title="后端开发", skills=("java", "mysql", "redis")),
    ]
    graduate = GraduateDocument(id=9, skills=("税法", "审计"))
    fields = TextFields(
        job=JobTextFields(title=1, skills=1, majors=0, description=0),
        graduate=GraduateTextFields(major=0, skills=1, desired_roles=0, summary=0),
    )
    params = CoherenceParams(weight=0.5, context=4, partners=4)
    model = TextModel(tokenizer=tokenizer, fields=fields, max_df=1.0, coherence=params)
    together = model.fit_transform_tokens(
        [model.job_tokens(job) for job in jobs] + [model.graduate_tokens(graduate)]
    )
    plain = TextModel(tokenizer=tokenizer, fields=fields, max_df=1.0, coherence=OFF)
    plain_vectors = plain.fit(jobs, [graduate]).transform_jobs(jobs)
    profile = model.transform_graduates([graduate])
    assert (profile != plain.transform_graduates([graduate])).nnz == 0
    assert (together[4] != profile).nnz == 0
    for row, job in enumerate(jobs):
        assert (model.transform_jobs([job]) != together[row]).nnz == 0
    # Same terms, but the word no other posting pairs with 会计 and 税法 loses weight.
    assert together[:4].nnz == plain_vectors.nnz
    terms = model.term_index()
    odd, core = terms["篮球"], terms["会计"]
    assert together[0, odd] / together[0, core] < plain_vectors[0, odd] / plain_vectors[0, core]


def test_ngram_fields_match_titles_the_segmenter_cuts_differently(tokenizer: Tokenizer) -> None:
    jobs = [
        JobDocument(id=1, title="游戏系统策划（2022届）"),
        JobDocument(id=2, title="财务会计"),
    ]
    graduate = GraduateDocument(id=9, desired_roles=("系统策划",))
    ngrams_only = TextFields(
        job=JobTextFields(title=0, skills=0, majors=0, description=0, title_ngrams=1),
        graduate=GraduateTextFields(major=0, skills=0, desired_roles=0, summary=0, role_ngrams=1),
    )
    model = TextModel(tokenizer=tokenizer, fields=ngrams_only, max_df=1.0, coherence=OFF)
    model.fit(jobs, [graduate])
    assert all(term.startswith("~") for term in model.terms_)
    scores = (model.transform_graduates([graduate]) @ model.transform_jobs(jobs).T).toarray()[0]
    assert scores[0] > 0.3 and scores[1] == 0


def test_without_field_normalisation_a_document_is_one_tfidf_vector(tokenizer: Tokenizer) -> None:
    model = TextModel(tokenizer=tokenizer, max_df=1.0, coherence=OFF, normalize_fields=False)
    model.fit_tokens([["a", "b"], ["b", "c"]])
    title, description = field_marker("job", "title"), field_marker("job", "description")
    marked = model.transform_tokens([[title, "a", description, "a", "b", "b"]]).toarray()[0]
    plain = model.transform_tokens([["a", "a", "b", "b"]]).toarray()[0]
    # The counts of both fields add up before the one normalisation, as if they were one text.
    assert marked == pytest.approx(plain, rel=1e-6)
    idf = np.log(3 / 2) + 1
    assert plain == pytest.approx(np.array([2 * idf, 2, 0]) / np.hypot(2 * idf, 2), rel=1e-6)


def test_bm25_weighting_saturates_counts_and_uses_bm25_idf(tokenizer: Tokenizer) -> None:
    model = TextModel(tokenizer=tokenizer, max_df=1.0, coherence=OFF, term_weighting="bm25")
    model.fit_tokens([["a", "b"], ["b", "c"], ["c"]])
    # Lucene's idf: ln(1 + (N − df + 0.5) / (df + 0.5)), N = 3.
    idf = np.log1p((3 - np.array([1, 2, 2]) + 0.5) / (np.array([1, 2, 2]) + 0.5))
    assert model.idf_ == pytest.approx(idf)
    vector = model.transform_tokens([["a", "a", "a", "b"]]).toarray()[0]
    # tf·(k1 + 1)/(tf + k1) with k1 = 1.2: 3 counts weigh 1.65, not 3.
    saturated = np.array([3 * 2.2 / 4.2, 2.2 / 2.2, 0]) * idf
    assert vector == pytest.approx(saturated / np.linalg.norm(saturated), rel=1e-5)


def test_the_character_channel_makes_a_cosine_the_mean_of_two(tokenizer: Tokenizer) -> None:
    jobs = [JobDocument(id=1, title="电气工程师", description="负责变电站设计")]
    graduates = [GraduateDocument(id=1, desired_roles=("电气设计",), skills=("变电站",))]
    words = TextModel(tokenizer=tokenizer, max_df=1.0, coherence=OFF).fit(jobs, graduates)
    words_cosine = (words.transform_jobs(jobs) @ words.transform_graduates(graduates).T)[0, 0]
    model = TextModel(tokenizer=tokenizer, max_df=1.0, coherence=OFF, char_channel=True)
    model.fit(jobs, graduates)
    job, graduate = model.transform_jobs(jobs), model.transform_graduates(graduates)
    grams = model.ngram_columns_
    # Each channel holds half of a vector's squared length ...
    for vector in (job, graduate):
        in_grams = grams[vector.indices]
        assert float((vector.data[in_grams] ** 2).sum()) == pytest.approx(0.5, rel=1e-5)
    # ... so the word channel's share of the cosine is half the words-only cosine, and the
    # character channel (which shares n-grams here) adds its own half.
    dense_job, dense_graduate = job.toarray()[0], graduate.toarray()[0]
    word_share = float(dense_job[~grams] @ dense_graduate[~grams])
    char_share = float(dense_job[grams] @ dense_graduate[grams])
    assert word_share == pytest.approx(words_cosine / 2, rel=1e-5)
    assert 0 < char_share <= 0.5
    assert float((job @ graduate.T)[0, 0]) == pytest.approx(word_share + char_share, rel=1e-5)
