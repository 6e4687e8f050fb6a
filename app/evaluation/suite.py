"""One labelled set through the ranker and the three baselines, every system limited to the
candidates the ranker's filters let through, scored on all queries and on the tune and
held-out halves."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Self

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
    char_vectorizer,
    evaluate_chance,
    evaluate_run,
    rank_by_cosine,
    split_held_out,
    tfidf_word_baseline,
    to_run,
    word_vectorizer,
)
from app.ranking.features import Direction
from app.ranking.fields import NGRAM_FIELD_SUFFIX, field_weights_of
from app.ranking.index import topk_rows

logger = logging.getLogger(__name__)

NDCG_DEPTH = 10
RECALL_DEPTH = 100
# Query rows ranked per call: one progress step, and a bounded block of scores.
RANK_CHUNK = 64
BASELINES = ("tfidf_word", "tfidf_char", "bm25")
PARTS = ("all", "tune", "held-out")
# The judgements are about text relevance (job categories, industries), so the labelled sets
# score text and major fit only, with the shipped weights; education, city and salary stay out of
# the score and act as filters only where a profile states them (unknown values pass).
EVALUATION_WEIGHTS = dataclasses.replace(
    StructuredFitWeights(), education=0.0, city=0.0, salary=0.0
)
EVALUATION_FILTERS = FilterSpec(status=True, education=False, city=True, salary=True)

Runs = dict[str, dict[str, list[str]]]
# Stands in for an empty token list: bm25s cannot index one, and no text yields this token.
EMPTY_TOKEN = "\x00"


def evaluation_params() -> RankerParams:
    """The ranker's parameters on the labelled sets: the shipped ones, evaluation weights."""
    return RankerParams(weights=EVALUATION_WEIGHTS)


@dataclass(slots=True)
class SuiteResult:
    """Metrics of every system on one set or pool, per part, with the ranker's ratios."""

    name: str
    kind: Literal["set", "pool"]
    labels: str
    metrics: dict[str, dict[str, dict[str, float]]]
    ratios: dict[str, dict[str, float | None]]
    corpus: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    # part → metric → what a uniformly random order of the eligible candidates scores.
    chance: dict[str, dict[str, float]] = field(default_factory=dict)

    def ratios_above_chance(self) -> dict[str, dict[str, float | None]]:
        """part → the ranker's gain over chance over the best baseline's (ratios_above_chance)."""
        return {
            part: ratios_above_chance(self.metrics[part], values)
            for part, values in self.chance.items()
        }

    def as_json(self) -> dict[str, Any]:
        """The JSON shape of the result."""
        return {
            "kind": self.kind,
            "labels": self.labels,
            "metrics": self.metrics,
            "ratio_to_best_baseline": self.ratios,
            "chance": self.chance,
            "ratio_to_best_baseline_above_chance": self.ratios_above_chance(),
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


def ratios_above_chance(
    metrics: Mapping[str, Mapping[str, float]], chance: Mapping[str, float]
) -> dict[str, float | None]:
    """The ranker's gain over chance divided by the best baseline's, per metric (None when the
    best baseline does no better than chance): where labels hand a random order much of a
    score, the plain ratio hides how far apart the systems are."""
    ranker = metrics["ranker"]
    out: dict[str, float | None] = {}
    for key, value in ranker.items():
        best = max(metrics[name][key] for name in BASELINES) - chance[key]
        out[key] = (value - chance[key]) / best if best > 0 else None
    return out


def chance_parts(
    labelled: LabelledSet, eligible: np.ndarray[Any, np.dtype[np.bool_]], k: int
) -> dict[str, dict[str, float]]:
    """part → evaluate_chance: each query's eligible postings in a uniformly random order."""
    position = {job_id: n for n, job_id in enumerate(labelled.job_ids)}
    gains: dict[str, list[int]] = {}
    candidates: dict[str, int] = {}
    for row, query in enumerate(labelled.query_ids):
        grades = labelled.qrels.get(query, {})
        gains[query] = [
            g for doc, g in grades.items() if doc in position and eligible[row, position[doc]]
        ]
        candidates[query] = int(eligible[row].sum())
    return {
        part: evaluate_chance(
            {q: labelled.qrels.get(q, {}) for q in queries},
            gains,
            candidates,
            k=k,
            recall_depth=RECALL_DEPTH,
            # Every system's run stops at RECALL_DEPTH: a random one does too.
            run_depth=RECALL_DEPTH,
        )
        for part, queries in query_parts(labelled.query_ids).items()
    }


def query_parts(query_ids: Sequence[str]) -> dict[str, list[str]]:
    """part → its queries: all, the tune half and the held-out half."""
    tune, held_out = split_held_out(query_ids)
    return {"all": list(query_ids), "tune": tune, "held-out": held_out}


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


class Baselines:
    """Word TF-IDF, character TF-IDF and BM25 (the bm25s library, Lucene variant, default
    k1/b) fitted once on a corpus, then ranking any queries limited to their eligible
    documents.

    The word baseline and BM25 share one token stream (the given tokenizer over the fields
    concatenated once); the character baseline sees the same fields as raw text.
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer

    def fit(self, doc_texts: Sequence[str]) -> Self:
        """Fit every baseline on the documents; the seconds each took in `seconds_` (until the
        first ranking reports them)."""
        import bm25s

        self.seconds_: dict[str, float] = {}
        started = time.perf_counter()
        doc_tokens = [self.tokenizer.tokenize(text) for text in doc_texts]
        tokenizing = time.perf_counter() - started
        started = time.perf_counter()
        self.word_ = word_vectorizer()
        self.word_documents_ = self.word_.fit_transform(doc_tokens)
        self.seconds_["tfidf_word"] = tokenizing + time.perf_counter() - started
        started = time.perf_counter()
        self.char_ = char_vectorizer()
        self.char_documents_ = self.char_.fit_transform(doc_texts)
        self.seconds_["tfidf_char"] = time.perf_counter() - started
        started = time.perf_counter()
        self.bm25_ = bm25s.BM25()
        # bm25s cannot index an empty document list entry, so an empty document gets a token
        # no query has: it stays in the corpus and scores 0.
        self.bm25_.index([t or [EMPTY_TOKEN] for t in doc_tokens], show_progress=False)
        self.seconds_["bm25"] = tokenizing + time.perf_counter() - started
        self.n_documents_ = len(doc_texts)
        return self

    def rank(
        self,
        query_texts: Sequence[str],
        depth: int,
        eligible: Eligibility,
        timings: dict[str, float] | None = None,
    ) -> dict[str, list[list[int]]]:
        """Ranked document positions per query of each baseline."""
        query_tokens = [self.tokenizer.tokenize(text) for text in query_texts]
        positions = range(self.n_documents_)
        out: dict[str, list[list[int]]] = {}
        for name in BASELINES:
            started = time.perf_counter()
            if name == "tfidf_word":
                queries = self.word_.transform(query_tokens)
                out[name] = rank_by_cosine(
                    queries, self.word_documents_, positions, depth, eligible
                )
            elif name == "tfidf_char":
                queries = self.char_.transform(query_texts)
                out[name] = rank_by_cosine(
                    queries, self.char_documents_, positions, depth, eligible
                )
            else:
                out[name] = self._bm25(query_tokens, depth, eligible)
            if timings is not None:
                # The fit's seconds go with the first ranking only: later ones did not fit.
                timings[name] = time.perf_counter() - started + self.seconds_.pop(name, 0.0)
        return out

    def _bm25(
        self, query_tokens: Sequence[list[str]], depth: int, eligible: Eligibility
    ) -> list[list[int]]:
        ids = np.arange(self.n_documents_, dtype=np.int64)
        out: list[list[int]] = []
        for row, tokens in enumerate(query_tokens):
            scores = np.asarray(self.bm25_.get_scores(tokens or [EMPTY_TOKEN]), dtype=np.float32)
            if eligible is not None:
                scores[~eligible[row]] = -np.inf
            out.append(topk_rows(scores, ids, depth).tolist())
        return out


def plain_tokenizer(params: RankerParams) -> Tokenizer:
    """The baselines' tokenizer: jieba's own dictionary and segmentation, no domain words,
    compound splitting, stopwords or synonyms (punctuation and bare numbers dropped)."""
    return Tokenizer(
        backend=params.backend,
        user_words=(),
        stopwords=(),
        synonym_groups=(),
        drop_protected=False,
        split_compounds=False,
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
    """Ranked document positions per query of word TF-IDF, character TF-IDF and BM25."""
    return Baselines(tokenizer).fit(doc_texts).rank(query_texts, depth, eligible, timings)


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
        for part, queries in query_parts(labelled.query_ids).items()
    }


def evaluate_set(
    labelled: LabelledSet,
    *,
    params: RankerParams | None = None,
    filters: FilterSpec = EVALUATION_FILTERS,
    majors: MajorTable | None = None,
    k: int = NDCG_DEPTH,
    baselines_by_corpus: dict[str, Baselines] | None = None,
) -> SuiteResult:
    """The ranker and the baselines on one set, the baselines held to the ranker's filters;
    baselines fitted on the same postings before are taken from `baselines_by_corpus`."""
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
    doc_texts = [job_text(j) for j in labelled.jobs]
    cache = {} if baselines_by_corpus is None else baselines_by_corpus
    key = hashlib.sha256("\x1e".join(doc_texts).encode()).hexdigest()
    if key not in cache:
        cache[key] = Baselines(plain_tokenizer(params)).fit(doc_texts)
    positions = cache[key].rank(
        [graduate_text(g) for g in labelled.queries], RECALL_DEPTH, eligible, timings
    )
    for name, ranked in positions.items():
        runs[name] = to_run(labelled.query_ids, ranked, labelled.job_ids)

    # Ablation, not a baseline: word TF-IDF on the ranker's own tokens, to show how much of the
    # gain comes from the tokens and how much from the rest of the method.
    # Only the fields the ranker reads: a posting's industry has weight 0 and is the label of
    # the built sets, so counting it here would hand this run the answer.
    model = ranker.text_model_
    job_weights = field_weights_of(model.fields_.job)
    graduate_weights = field_weights_of(model.fields_.graduate)
    same_doc = [_word_tokens(model.job_field_tokens(job), job_weights) for job in labelled.jobs]
    same_query = [
        _word_tokens(model.graduate_field_tokens(g), graduate_weights) for g in labelled.queries
    ]
    runs["tfidf_word_ranker_tokens"] = to_run(
        labelled.query_ids,
        tfidf_word_baseline(same_doc, same_query, RECALL_DEPTH, eligible),
        labelled.job_ids,
    )
    metrics = score_runs(runs, labelled, k)
    judged = sum(
        1 for q in labelled.query_ids if any(g > 0 for g in labelled.qrels.get(q, {}).values())
    )
    return SuiteResult(
        name=labelled.name,
        kind="set",
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
        chance=chance_parts(labelled, eligible, k),
    )


def _word_tokens(fields: dict[str, list[str]], weights: Mapping[str, float]) -> list[str]:
    """The word tokens of every field the ranker weighs (the character n-gram fields are not
    words)."""
    return [
        token
        for name, tokens in fields.items()
        if weights.get(name, 0) > 0 and not name.endswith(NGRAM_FIELD_SUFFIX)
        for token in tokens
    ]
