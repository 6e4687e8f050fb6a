"""Ranking metrics (NDCG@k, Recall@k, MRR, P@k) and the TF-IDF baselines the ranker is held
against, each restricted to the candidates the ranker may return for the query."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from app.ranking.fields import identity_analyzer
from app.ranking.index import topk_rows
from app.ranking.text import normalize_text

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Sequence[str]]
# queries × documents: True where the document may be returned for the query (the filters the
# ranker applies); None lets every document through.
Eligibility = np.ndarray[Any, np.dtype[np.bool_]] | None
# Query rows per sparse product: bounds the dense (chunk × corpus) score block.
CHUNK = 256


def ndcg_at(ranked: Sequence[str], grades: Mapping[str, int], k: int) -> float:
    """NDCG@k with linear gains and a log2 discount (trec_eval's ndcg_cut)."""
    dcg = sum(grades.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: Sequence[str], grades: Mapping[str, int], k: int) -> float:
    """Share of the relevant (grade > 0) documents found in the first k."""
    relevant = {doc for doc, g in grades.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def precision_at(ranked: Sequence[str], grades: Mapping[str, int], k: int) -> float:
    """Share of relevant (grade > 0) documents among the first k places (a short list counts
    its missing places as misses)."""
    if k <= 0:
        return 0.0
    return sum(1 for doc in ranked[:k] if grades.get(doc, 0) > 0) / k


def reciprocal_rank(ranked: Sequence[str], grades: Mapping[str, int]) -> float:
    """1 / rank of the first relevant document in the ranking (0 if none is retrieved)."""
    for rank, doc in enumerate(ranked):
        if grades.get(doc, 0) > 0:
            return 1.0 / (rank + 1)
    return 0.0


def evaluate_run(
    run: Run, qrels: Qrels, *, k: int = 10, recall_depth: int = 100
) -> dict[str, float]:
    """Mean NDCG@k, Recall@depth and MRR over the queries that have a relevant judgement."""
    judged = [q for q, grades in qrels.items() if any(g > 0 for g in grades.values())]
    if not judged:
        return {f"ndcg@{k}": 0.0, "mrr": 0.0, f"recall@{recall_depth}": 0.0}
    ndcg = recall = mrr = 0.0
    for query in judged:
        ranked = run.get(query, ())
        grades = qrels[query]
        ndcg += ndcg_at(ranked, grades, k)
        recall += recall_at(ranked, grades, recall_depth)
        mrr += reciprocal_rank(ranked, grades)
    n = len(judged)
    return {f"ndcg@{k}": ndcg / n, "mrr": mrr / n, f"recall@{recall_depth}": recall / n}


def expected_reciprocal_rank(relevant: int, candidates: int, depth: int | None = None) -> float:
    """MRR of a uniformly random order of `candidates` items of which `relevant` are relevant:
    the sum over ranks r of P(the first relevant item is at r) / r, over the first `depth`
    ranks when the order is cut there (as a run of that depth is)."""
    if relevant <= 0 or candidates <= 0 or (depth is not None and depth <= 0):
        return 0.0
    relevant = min(relevant, candidates)
    # Survival: the chance that the first r-1 places all hold irrelevant items.
    remaining = np.arange(candidates, relevant, -1, dtype=np.float64)  # N, N-1, ..., R+1
    survival = np.concatenate(([1.0], np.cumprod((remaining - relevant) / remaining)))
    if depth is not None:
        survival = survival[:depth]
    ranks = np.arange(1, survival.shape[0] + 1, dtype=np.float64)
    first_here = survival * relevant / (candidates - ranks + 1)
    return float(np.sum(first_here / ranks))


def expected_at_random(
    grades: Mapping[str, int],
    eligible_gains: Sequence[int],
    candidates: int,
    *,
    k: int = 10,
    recall_depth: int = 100,
    run_depth: int | None = None,
) -> dict[str, float]:
    """NDCG@k, Recall@depth and MRR expected of a uniformly random order of a query's
    `candidates` eligible documents, whose judged gains are `eligible_gains`, cut at
    `run_depth` (None: whole); `grades` are all the query's judgements, so the ideal and the
    recall denominator match evaluate_run's."""
    gains = [g for g in eligible_gains if g > 0]
    relevant_all = sum(1 for g in grades.values() if g > 0)
    if candidates <= 0 or not gains or not relevant_all:
        return {f"ndcg@{k}": 0.0, "mrr": 0.0, f"recall@{recall_depth}": 0.0}
    # Each place holds any eligible document with equal chance: its expected gain is the mean.
    shown = candidates if run_depth is None else min(run_depth, candidates)
    places = min(k, shown)
    dcg = sum(gains) / candidates * sum(1 / math.log2(rank + 2) for rank in range(places))
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return {
        f"ndcg@{k}": dcg / idcg,
        "mrr": expected_reciprocal_rank(len(gains), candidates, run_depth),
        f"recall@{recall_depth}": len(gains) * min(recall_depth, shown) / candidates / relevant_all,
    }


def expected_precision(relevant: int, candidates: int, k: int) -> float:
    """P@k expected of a uniformly random order of `candidates` items, `relevant` of them
    relevant (a list shorter than k counts its missing places as misses, as precision_at)."""
    if k <= 0 or candidates <= 0:
        return 0.0
    return relevant / candidates * min(k, candidates) / k


def evaluate_chance(
    qrels: Qrels,
    eligible_gains: Mapping[str, Sequence[int]],
    candidates: Mapping[str, int],
    *,
    k: int = 10,
    recall_depth: int = 100,
    run_depth: int | None = None,
) -> dict[str, float]:
    """evaluate_run's means for a uniformly random order of each query's eligible documents,
    cut at `run_depth` as the runs compared with it are (see expected_at_random): how much of a
    score the labels give away to chance."""
    judged = [q for q, grades in qrels.items() if any(g > 0 for g in grades.values())]
    keys = (f"ndcg@{k}", "mrr", f"recall@{recall_depth}")
    if not judged:
        return dict.fromkeys(keys, 0.0)
    per_query = [
        expected_at_random(
            qrels[q],
            eligible_gains.get(q, ()),
            candidates.get(q, 0),
            k=k,
            recall_depth=recall_depth,
            run_depth=run_depth,
        )
        for q in judged
    ]
    return {key: sum(values[key] for values in per_query) / len(judged) for key in keys}


def rank_by_cosine(
    queries: sp.csr_matrix,
    documents: sp.csr_matrix,
    doc_ids: Sequence[int],
    depth: int,
    eligible: Eligibility = None,
) -> list[list[int]]:
    """Top-`depth` eligible document positions per query by dot product, ties by id."""
    ids = np.asarray(doc_ids, dtype=np.int64)
    documents_t = sp.csr_matrix(documents.T, dtype=np.float32)
    out: list[list[int]] = []
    for start in range(0, queries.shape[0], CHUNK):
        block = (queries[start : start + CHUNK] @ documents_t).toarray().astype(np.float32)
        if eligible is not None:
            block[~eligible[start : start + CHUNK]] = -np.inf
        out.extend(topk_rows(row, ids, depth).tolist() for row in block)
    return out


def word_vectorizer() -> TfidfVectorizer:
    """Plain word TF-IDF (scikit-learn defaults) over token lists."""
    return TfidfVectorizer(analyzer=identity_analyzer, lowercase=False, dtype=np.float32)


def char_vectorizer() -> TfidfVectorizer:
    """Character 1–3-gram TF-IDF over NFKC, lower-cased text."""
    return TfidfVectorizer(
        analyzer="char",
        ngram_range=(1, 3),
        preprocessor=normalize_text,
        lowercase=False,
        dtype=np.float32,
    )


def tfidf_word_baseline(
    doc_tokens: Sequence[list[str]],
    query_tokens: Sequence[list[str]],
    depth: int,
    eligible: Eligibility = None,
) -> list[list[int]]:
    """Plain word TF-IDF cosine over the given tokens."""
    vectorizer = word_vectorizer()
    documents = vectorizer.fit_transform(doc_tokens)
    queries = vectorizer.transform(query_tokens)
    return rank_by_cosine(queries, documents, range(len(doc_tokens)), depth, eligible)


def to_run(
    query_ids: Sequence[str], ranked_positions: Sequence[Sequence[int]], doc_ids: Sequence[str]
) -> dict[str, list[str]]:
    """Map ranked positions back to external ids."""
    return {
        q: [doc_ids[p] for p in positions]
        for q, positions in zip(query_ids, ranked_positions, strict=True)
    }


def is_held_out(item_id: str) -> bool:
    """Whether a query (or a pool's graduate) belongs to the held-out half: decided by a hash
    of its id alone, so the split is the same on every run and for every ranker."""
    return hashlib.sha256(item_id.encode()).digest()[0] < 128


def split_held_out(item_ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """(tune, held-out) parts of the ids, in their given order (see is_held_out)."""
    held = [item for item in item_ids if is_held_out(item)]
    return [item for item in item_ids if not is_held_out(item)], held
