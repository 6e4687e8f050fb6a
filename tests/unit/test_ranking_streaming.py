"""A fit that reads its documents a chunk at a time gives the same model and index as one that
takes them in one piece, on postings and profiles from the shared data."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import app.ranking.fitting as fitting
import app.ranking.row_blocks as row_blocks
import app.ranking.vectorize as vectorize
from app.benchmarks.corpus import (
    iter_scaled_postings,
    read_postings,
    read_query_profiles,
    scale_postings,
)
from app.ranking import (
    GraduateDocument,
    GraduateTextFields,
    JobDocument,
    JobTextFields,
    Ranker,
    RankerParams,
    TextFields,
    Tokenizer,
)
from app.ranking.fitting import hash_tokens
from tests.support import SHARED_DIR

REAL_POSTINGS = 1500
POSTINGS = 2500
PROFILES = 300
# Chunks of a prime size, so no chunk lines up with the real postings or the side boundary;
# slabs of a few chunks each, so the jobs' last slab also holds the first profiles.
SMALL_CHUNK = 97
SMALL_SLAB = 20_000

DEFAULT = RankerParams()
# Cut terms by document frequency (columns dropped after counting) and both n-gram channels.
CUT_AND_NGRAMS = RankerParams(
    max_df=0.3,
    min_df=3,
    char_channel=True,
    fields=TextFields(
        job=JobTextFields(title_ngrams=1, industry=1),
        graduate=GraduateTextFields(role_ngrams=1),
    ),
)


@pytest.fixture(scope="module")
def corpus() -> tuple[list[JobDocument], list[GraduateDocument]]:
    if not (SHARED_DIR / "data/jobs_zhaopin.jsonl").is_file():
        pytest.skip("shared data not available on this machine")
    real = read_postings(SHARED_DIR, REAL_POSTINGS)
    profiles = read_query_profiles(SHARED_DIR, real)[:PROFILES]
    graduates = [dataclasses.replace(p, id=POSTINGS + 1 + n) for n, p in enumerate(profiles)]
    return scale_postings(real, POSTINGS), graduates


def _fit(
    params: RankerParams,
    jobs: list[JobDocument],
    graduates: list[GraduateDocument],
    monkeypatch: pytest.MonkeyPatch,
    *,
    chunk: int,
    slab: int,
) -> Ranker:
    with monkeypatch.context() as patch:
        patch.setattr(vectorize, "FIT_CHUNK", chunk)
        patch.setattr(fitting, "FIT_CHUNK", chunk)
        patch.setattr(row_blocks, "SLAB_ENTRIES", slab)
        # Generators: the fit must not need to hold (or re-read) the documents.
        return Ranker(params, tokenizer=Tokenizer(backend="jieba")).fit(
            iter(jobs), (g for g in graduates)
        )


def _same_matrix(left: sp.csr_matrix, right: sp.csr_matrix) -> None:
    assert left.shape == right.shape
    for part in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(left, part), getattr(right, part)), part


def _same_features(left: Any, right: Any) -> None:
    for field in dataclasses.fields(left):
        assert np.array_equal(
            getattr(left, field.name), getattr(right, field.name), equal_nan=True
        ), field.name


@pytest.mark.parametrize("params", [DEFAULT, CUT_AND_NGRAMS], ids=["default", "cut-and-ngrams"])
def test_a_chunked_fit_equals_a_one_shot_fit(
    params: RankerParams,
    corpus: tuple[list[JobDocument], list[GraduateDocument]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs, graduates = corpus
    whole = _fit(params, jobs, graduates, monkeypatch, chunk=10 * POSTINGS, slab=1 << 30)
    chunked = _fit(params, jobs, graduates, monkeypatch, chunk=SMALL_CHUNK, slab=SMALL_SLAB)

    assert whole.text_model_.terms_.tolist() == chunked.text_model_.terms_.tolist()
    assert np.array_equal(whole.text_model_.idf_, chunked.text_model_.idf_)
    assert whole.text_model_.associations_.nnz > 0
    _same_matrix(whole.text_model_.associations_, chunked.text_model_.associations_)
    for side in ("jobs_index_", "graduates_index_"):
        left, right = getattr(whole, side), getattr(chunked, side)
        assert np.array_equal(left.ids, right.ids)
        _same_matrix(left._main, right._main)
        _same_matrix(left._main_t, right._main_t)
        _same_features(left.features, right.features)
    assert whole.data_hash_ == chunked.data_hash_

    queries = [g.id for g in graduates[:40]]
    assert [[(m.id, m.score) for m in ms] for ms in whole.jobs_for_graduates(queries, 10)] == [
        [(m.id, m.score) for m in ms] for ms in chunked.jobs_for_graduates(queries, 10)
    ]


def test_a_chunked_fit_vectors_as_transform_does(
    corpus: tuple[list[JobDocument], list[GraduateDocument]], monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs, graduates = corpus
    ranker = _fit(DEFAULT, jobs, graduates, monkeypatch, chunk=SMALL_CHUNK, slab=SMALL_SLAB)
    model = ranker.text_model_
    sample = jobs[::50]
    rows = [ranker.jobs_index_.row_of(job.id) for job in sample]
    stored = sp.vstack([ranker.jobs_index_.vector(row) for row in rows if row is not None])
    _same_matrix(sp.csr_matrix(stored), model.transform_jobs(sample))


@pytest.fixture(scope="module")
def kept_and_bare(
    corpus: tuple[list[JobDocument], list[GraduateDocument]],
) -> tuple[Ranker, Ranker]:
    """The same fit, keeping its documents and keeping none (read from generators)."""
    jobs, graduates = corpus
    tokenizer = Tokenizer(backend="jieba")
    kept = Ranker(tokenizer=tokenizer).fit(jobs, graduates)
    bare = Ranker(tokenizer=tokenizer, keep_documents=False).fit(iter(jobs), iter(graduates))
    return kept, bare


def test_without_documents_ranking_is_the_same_and_explaining_is_refused(
    corpus: tuple[list[JobDocument], list[GraduateDocument]],
    kept_and_bare: tuple[Ranker, Ranker],
) -> None:
    jobs, graduates = corpus
    kept, bare = kept_and_bare
    assert kept.jobs_ and not bare.jobs_ and not bare.graduates_
    queries = [g.id for g in graduates[:20]]
    assert [[(m.id, m.score) for m in ms] for ms in kept.jobs_for_graduates(queries, 10)] == [
        [(m.id, m.score) for m in ms] for ms in bare.jobs_for_graduates(queries, 10)
    ]
    by_job = [j.id for j in jobs[:5]]
    assert [[m.id for m in ms] for ms in kept.graduates_for_jobs(by_job, 5)] == [
        [m.id for m in ms] for ms in bare.graduates_for_jobs(by_job, 5)
    ]
    with pytest.raises(ValueError, match="documents"):
        bare.jobs_for_graduate(queries[0], 10, explain=True)
    with pytest.raises(ValueError, match="documents"):
        bare.explain(jobs[0].id, graduates[0].id)
    with pytest.raises(ValueError, match="documents"):
        bare.refit()


@dataclasses.dataclass
class _ReadDocuments:
    """A DocumentSource over dicts that records what was asked, as a database would be read."""

    jobs_by_id: dict[int, JobDocument]
    graduates_by_id: dict[int, GraduateDocument]
    asked: list[tuple[str, frozenset[int]]] = dataclasses.field(default_factory=list)

    def jobs(self, ids: Collection[int]) -> dict[int, JobDocument]:
        self.asked.append(("jobs", frozenset(ids)))
        return {i: self.jobs_by_id[i] for i in ids if i in self.jobs_by_id}

    def graduates(self, ids: Collection[int]) -> dict[int, GraduateDocument]:
        self.asked.append(("graduates", frozenset(ids)))
        return {i: self.graduates_by_id[i] for i in ids if i in self.graduates_by_id}


def test_without_documents_explanations_read_from_a_source_equal_the_kept_ones(
    corpus: tuple[list[JobDocument], list[GraduateDocument]],
    kept_and_bare: tuple[Ranker, Ranker],
) -> None:
    jobs, graduates = corpus
    kept, bare = kept_and_bare
    source = _ReadDocuments({j.id: j for j in jobs}, {g.id: g for g in graduates})
    queries = [g.id for g in graduates[:12]]
    expected = kept.jobs_for_graduates(queries, 10, explain=True)
    assert all(m.explanation is not None for ms in expected for m in ms)
    assert bare.jobs_for_graduates(queries, 10, explain=True, documents=source) == expected
    # One read per side for the whole batch: the queries, then every candidate at once.
    assert sorted(side for side, _ in source.asked) == ["graduates", "jobs"]
    assert dict(source.asked)["graduates"] == frozenset(queries)
    assert dict(source.asked)["jobs"] == {m.id for ms in expected for m in ms}

    by_job = [j.id for j in jobs[:4]]
    assert bare.graduates_for_jobs(by_job, 5, explain=True, documents=source) == (
        kept.graduates_for_jobs(by_job, 5, explain=True)
    )
    # A query given as a document needs no read for itself.
    document = dataclasses.replace(graduates[0], id=-1)
    assert bare.jobs_for_graduate(document, 5, documents=source) == kept.jobs_for_graduate(
        document, 5
    )
    pair = (expected[0][0].id, queries[0])
    assert bare.explain(*pair, documents=source) == kept.explain(*pair)
    assert bare.explain(*pair, documents=source) is not None

    # A document gone from the source (erased since it was indexed): its match stays, with no
    # explanation, and the others are explained as before.
    gone = expected[0][0].id
    del source.jobs_by_id[gone]
    again = bare.jobs_for_graduates(queries[:1], 10, explain=True, documents=source)[0]
    assert [(m.id, m.score) for m in again] == [(m.id, m.score) for m in expected[0]]
    assert [m.explanation is None for m in again] == [m.id == gone for m in again]
    assert bare.explain(*pair, documents=source) is None


def test_the_data_hash_does_not_depend_on_document_order() -> None:
    jobs = [(3, ["a", "b"]), (1, ["c"]), (2, [])]
    graduates = [(7, ["d"])]
    assert hash_tokens(jobs, graduates) == hash_tokens(sorted(jobs), graduates)
    assert hash_tokens(jobs, graduates) != hash_tokens(graduates, jobs)
    assert hash_tokens(jobs, graduates) != hash_tokens([(3, ["a"]), *jobs[1:]], graduates)


def test_duplicate_ids_are_refused() -> None:
    jobs = [JobDocument(id=1, title="会计"), JobDocument(id=1, title="出纳")]
    with pytest.raises(ValueError, match="duplicate"):
        Ranker(tokenizer=Tokenizer(backend="jieba")).fit(jobs)


def test_the_lazy_corpus_is_the_scaled_corpus(
    corpus: tuple[list[JobDocument], list[GraduateDocument]],
) -> None:
    jobs, _graduates = corpus
    real = jobs[:REAL_POSTINGS]
    assert list(iter_scaled_postings(real, POSTINGS)) == jobs
