"""One labelled set through the ranker and the three baselines, every system limited to the
candidates the ranker's filters let through, scored on all queries and on the tune and
held-out halves."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.evaluation.sets import LabelledSet
from app.ranking import (
    FilterSpec,
    GraduateDocument,
    JobDocument,
    MajorTable,
    Ranker,
    RankerParams,
    StructuredFitWeights,
    Tokenizer,
)
from app.ranking.evaluation import (
    Eligibility,
    evaluate_run,
    split_held_out,
    tfidf_char_baseline,
    tfidf_word_baseline,
    to_run,
)
from app.ranking.index import topk_rows
from app.ranking.structured import Direction
from app.ranking.vectorize import NGRAM_FIELD_SUFFIX

logger = logging.getLogger(__name__)

NDCG_DEPTH = 10
RECALL_DEPTH = 100
# Query rows ranked per call: one progress step, and a bounded block of scores.
RANK_CHUNK = 64
BASELINES = ("tfidf_word", "tfidf_char", "bm25")
PARTS = ("all", "tune", "held-out")
# The judgements are about text relevance (job categories, industries), so the labelled sets
# score text and major fit only; education, city and salary stay out of the score and act as
# filters only where a profile states them (unknown values pass every filter).
EVALUATION_WEIGHTS = StructuredFitWeights(text=1.0, major=0.1, education=0.0, city=0.0, salary=0.0)
EVALUATION_FILTERS = FilterSpec(status=True, education=False, city=True, salary=True)

Runs = dict[str, dict[str, list[str]]]


def evaluation_params() -> RankerParams:
    """The ranker's parameters on the labelled sets: the shipped ones, evaluation weights."""
    return RankerParams(weights=EVALUATION_WEIGHTS)


@dataclass(slots=True)
class SetResult:
    """Metrics of every system on one set, per part, with the ranker's ratios."""

    name: str
    labels: str
    metrics: dict[str, dict[str, dict[str, float]]]
    ratios: dict[str, dict[str, float | None]]
    corpus: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The JSON shape of the result."""
        return {
            "labels": self.labels,
            "metrics": self.metrics,
            "ratio_to_best_baseline": self.ratios,
            "corpus": self.corpus,
            "seconds": {name: round(value, 2) for name, value in self.seconds.items()},
        }


def ratios_to_best(metrics: Mapping[str, Mapping[str, float]]) -> dict[str, float | None]:
    """The ranker's value over the best baseline's, per metric (None when that is 0)."""
    ranker = metrics["ranker"]
    out: dict[str, float | None] = {}
    for key, value in ranker.items():
        best = max(metrics[name][key] for name in BASELINES)
        out[key] = value / best if best else None
    return out


def eligible_candidates(
    ranker: Ranker,
    direction: Direction,
    queries: Sequence[Any],
    filters: FilterSpec,
    n_candidates: int,
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """queries × candidates: True where the ranker's filters let the candidate through for the
    query (graduate documents for jobs, job documents for graduates). Candidates are by id
    (the ranker was fitted with ids 0..n-1)."""
    index = ranker.jobs_index_ if direction == "jobs" else ranker.graduates_index_
    encoder = ranker.encoder_
    features: Any = (
        encoder.encode_graduates(list(queries))
        if direction == "jobs"
        else encoder.encode_jobs(list(queries))
    )
    ids = index.ids
    text = np.zeros(ids.shape[0], dtype=np.float32)
    mask = np.zeros((len(queries), n_candidates), dtype=bool)
    for row in range(len(queries)):
        query = features.take(slice(row, row + 1))
        scores = ranker.score_rows(direction, text, query, filters).scores
        mask[row, ids[np.isfinite(scores)]] = True
    return mask


def bm25_baseline(
    doc_tokens: Sequence[list[str]],
    query_tokens: Sequence[list[str]],
    depth: int,
    eligible: Eligibility = None,
) -> list[list[int]]:
    """BM25 (the bm25s library, Lucene variant, default k1/b) over the given tokens, each query
    limited to its eligible documents."""
    import bm25s

    retriever = bm25s.BM25()
    # bm25s cannot index an empty document list entry, so an empty document gets a token no
    # query has: it stays in the corpus and scores 0.
    retriever.index([t or ["\x00"] for t in doc_tokens], show_progress=False)
    ids = np.arange(len(doc_tokens), dtype=np.int64)
    out: list[list[int]] = []
    for row, tokens in enumerate(query_tokens):
        scores = np.asarray(retriever.get_scores(tokens or ["\x00"]), dtype=np.float32)
        if eligible is not None:
            scores[~eligible[row]] = -np.inf
        out.append(topk_rows(scores, ids, depth).tolist())
    return out


def plain_tokenizer(params: RankerParams) -> Tokenizer:
    """The baselines' tokenizer: jieba's own dictionary, no domain words, stopwords or
    synonyms (punctuation and bare numbers dropped)."""
    return Tokenizer(
        backend=params.backend, user_words=(), stopwords=(), synonym_groups=(), drop_protected=False
    )


def job_text(job: JobDocument) -> str:
    """A posting's text for the baselines: title, skills, majors and description."""
    return " ".join([job.title, " ".join(job.skills), " ".join(job.majors), job.description])


def graduate_text(graduate: GraduateDocument) -> str:
    """A profile's text for the baselines: major, skills, desired roles and summary."""
    parts = [graduate.major or "", " ".join(graduate.skills), " ".join(graduate.desired_roles)]
    return " ".join([*parts, graduate.summary])


def baseline_runs(
    query_texts: Sequence[str],
    doc_texts: Sequence[str],
    *,
    tokenizer: Tokenizer,
    depth: int,
    eligible: Eligibility,
    timings: dict[str, float] | None = None,
) -> dict[str, list[list[int]]]:
    """Ranked document positions per query of word TF-IDF, character TF-IDF and BM25.

    The word baselines and BM25 share one token stream (the given tokenizer over the fields
    concatenated once); the character baseline sees the same fields as raw text.
    """
    doc_tokens = [tokenizer.tokenize(text) for text in doc_texts]
    query_tokens = [tokenizer.tokenize(text) for text in query_texts]
    out: dict[str, list[list[int]]] = {}
    for name in BASELINES:
        started = time.perf_counter()
        if name == "tfidf_word":
            out[name] = tfidf_word_baseline(doc_tokens, query_tokens, depth, eligible)
        elif name == "tfidf_char":
            out[name] = tfidf_char_baseline(doc_texts, query_texts, depth, eligible)
        else:
            out[name] = bm25_baseline(doc_tokens, query_tokens, depth, eligible)
        if timings is not None:
            timings[name] = time.perf_counter() - started
    return out


def fit_ranker(
    labelled: LabelledSet,
    params: RankerParams,
    *,
    tokenizer: Tokenizer | None = None,
    majors: MajorTable | None = None,
) -> Ranker:
    """The ranker fitted on the set's postings and profiles (as the service fits both sides)."""
    return Ranker(params, tokenizer=tokenizer, majors=majors).fit(labelled.jobs, labelled.queries)


def ranker_run(
    ranker: Ranker, labelled: LabelledSet, filters: FilterSpec, depth: int = RECALL_DEPTH
) -> dict[str, list[str]]:
    """Each query's top `depth` postings by the ranker, as external ids."""
    from tqdm import tqdm

    results = []
    with tqdm(
        total=len(labelled.queries), desc=f"ranking {labelled.name}", unit="query", disable=None
    ) as bar:
        for start in range(0, len(labelled.queries), RANK_CHUNK):
            batch = [g.id for g in labelled.queries[start : start + RANK_CHUNK]]
            results.extend(ranker.jobs_for_graduates(batch, depth, filters=filters))
            bar.update(len(batch))
    return {
        query: [labelled.job_ids[m.id] for m in matches]
        for query, matches in zip(labelled.query_ids, results, strict=True)
    }


def score_runs(
    runs: Mapping[str, Mapping[str, Sequence[str]]], labelled: LabelledSet, k: int = NDCG_DEPTH
) -> dict[str, dict[str, dict[str, float]]]:
    """part → system → metrics, on all queries and on the tune and held-out halves."""
    tune, held_out = split_held_out(labelled.query_ids)
    parts = {"all": labelled.query_ids, "tune": tune, "held-out": held_out}
    return {
        part: {
            name: evaluate_run(
                run,
                {q: labelled.qrels.get(q, {}) for q in queries},
                k=k,
                recall_depth=RECALL_DEPTH,
            )
            for name, run in runs.items()
        }
        for part, queries in parts.items()
    }


def evaluate_set(
    labelled: LabelledSet,
    *,
    params: RankerParams | None = None,
    filters: FilterSpec = EVALUATION_FILTERS,
    majors: MajorTable | None = None,
    k: int = NDCG_DEPTH,
) -> SetResult:
    """The ranker and the baselines on one set, the baselines held to the ranker's filters."""
    params = params or evaluation_params()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    ranker = fit_ranker(labelled, params, majors=majors)
    timings["fit"] = time.perf_counter() - started
    started = time.perf_counter()
    runs: Runs = {"ranker": ranker_run(ranker, labelled, filters)}
    timings["rank"] = time.perf_counter() - started
    started = time.perf_counter()
    eligible = eligible_candidates(ranker, "jobs", labelled.queries, filters, len(labelled.jobs))
    timings["filters"] = time.perf_counter() - started
    positions = baseline_runs(
        [graduate_text(g) for g in labelled.queries],
        [job_text(j) for j in labelled.jobs],
        tokenizer=plain_tokenizer(params),
        depth=RECALL_DEPTH,
        eligible=eligible,
        timings=timings,
    )
    for name, ranked in positions.items():
        runs[name] = to_run(labelled.query_ids, ranked, labelled.job_ids)

    # Ablation, not a baseline: word TF-IDF on the ranker's own tokens, to show how much of the
    # gain comes from the tokens and how much from the rest of the method.
    model = ranker.text_model_
    same_doc = [_word_tokens(model.job_field_tokens(job)) for job in labelled.jobs]
    same_query = [_word_tokens(model.graduate_field_tokens(g)) for g in labelled.queries]
    runs["tfidf_word_ranker_tokens"] = to_run(
        labelled.query_ids,
        tfidf_word_baseline(same_doc, same_query, RECALL_DEPTH, eligible),
        labelled.job_ids,
    )
    metrics = score_runs(runs, labelled, k)
    judged = sum(
        1 for q in labelled.query_ids if any(g > 0 for g in labelled.qrels.get(q, {}).values())
    )
    return SetResult(
        name=labelled.name,
        labels=labelled.labels,
        metrics=metrics,
        ratios={part: ratios_to_best(values) for part, values in metrics.items()},
        corpus={
            "jobs": len(labelled.jobs),
            "queries": len(labelled.queries),
            "judged_queries": judged,
            "held_out_queries": len(split_held_out(labelled.query_ids)[1]),
            "eligible_per_query": round(float(eligible.sum(axis=1).mean()), 1)
            if len(labelled.queries)
            else 0.0,
            "terms": len(model.terms_),
            "tokenizer": model.tokenizer_.backend_in_use,
        },
        seconds=timings,
    )


def _word_tokens(fields: dict[str, list[str]]) -> list[str]:
    """The word tokens of every field (the character n-gram fields are not words)."""
    return [
        token
        for name, tokens in fields.items()
        if not name.endswith(NGRAM_FIELD_SUFFIX)
        for token in tokens
    ]
