"""The ranker: a fitted text model plus one index per side, exact top-k in both directions with
structured fit, hard filters and explanations."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, Self

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg  # noqa: F401  (sp.linalg.norm)

from app.ranking.coherence import CoherenceParams
from app.ranking.documents import GraduateDocument, JobDocument, TextFields
from app.ranking.index import FloatArray, SparseIndex, topk_rows
from app.ranking.scoring import (
    PairScores,
    TermContribution,
    TopK,
    bound_slack,
    exact_top,
    exhaustive_top,
    pair_scores,
    structured_reach,
    text_scale,
    top_terms,
)
from app.ranking.structured import (
    MISSING,
    BoolArray,
    Direction,
    FeatureEncoder,
    FilterSpec,
    GraduateFeatures,
    JobFeatures,
    MajorFitLevels,
    MajorTable,
    StructuredFitWeights,
    pair_mask_rows,
    sub_score_ranges,
)
from app.ranking.text import Backend, Tokenizer
from app.ranking.vectorize import TermWeighting, TextModel

# Query rows per sparse product in batch ranking: bounds the (chunk × N) score block.
BATCH_CHUNK = 64


@dataclass(frozen=True, slots=True)
class RankerParams:
    """Every choice that shapes a score; saved with the artifacts."""

    fields: TextFields = field(default_factory=TextFields)
    weights: StructuredFitWeights = field(default_factory=StructuredFitWeights)
    major_levels: MajorFitLevels = field(default_factory=MajorFitLevels)
    # The plain choices (no max_df cut, raw tf, equal field weights) and coherence weighting
    # are what the ablation over dev, the seekers set and the pools kept (README, "Text
    # choices").
    max_df: float = 1.0
    min_df: int = 1
    sublinear_tf: bool = False
    backend: Backend = "auto"
    explain_terms: int = 8
    feedback_docs: int = 0
    feedback_weight: float = 0.5
    coherence: CoherenceParams = field(default_factory=CoherenceParams)
    normalize_fields: bool = True
    char_channel: bool = False
    term_weighting: TermWeighting = "tfidf"


@dataclass(frozen=True, slots=True)
class ScoreParts:
    """Unweighted sub-scores of one match, each in [0, 1]: `text` is the calibrated text part
    (the cosine over the best eligible candidate's cosine, see app.ranking.scoring), `cosine`
    the raw cosine it comes from (not part of the blend)."""

    text: float
    major: float
    education: float
    city: float
    salary: float
    cosine: float


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a candidate ranks where it does."""

    parts: ScoreParts
    weights: StructuredFitWeights
    terms: tuple[TermContribution, ...]
    filters_passed: tuple[str, ...]
    missing_skills: tuple[str, ...]
    major_level: str
    best_cosine: float


class Ranked(NamedTuple):
    """Top rows of one query (scoring.TopK) with their raw cosines."""

    top: TopK
    cosine: FloatArray


@dataclass(frozen=True, slots=True)
class Match:
    """One ranked candidate."""

    id: int
    score: float
    parts: ScoreParts
    explanation: Explanation | None = None


class Ranker:
    """Fit on jobs and graduates, then rank either side for the other; documents can be
    added, replaced and removed afterwards with the fitted vocabulary (no refit)."""

    def __init__(
        self,
        params: RankerParams | None = None,
        *,
        tokenizer: Tokenizer | None = None,
        majors: MajorTable | None = None,
    ) -> None:
        self.params = params
        self.tokenizer = tokenizer
        self.majors = majors

    @property
    def params_(self) -> RankerParams:
        """Parameters in use."""
        return self.params if self.params is not None else RankerParams()

    def _text_model(self) -> TextModel:
        params = self.params_
        return TextModel(
            tokenizer=self.tokenizer or Tokenizer(backend=params.backend),
            fields=params.fields,
            max_df=params.max_df,
            min_df=params.min_df,
            sublinear_tf=params.sublinear_tf,
            coherence=params.coherence,
            normalize_fields=params.normalize_fields,
            char_channel=params.char_channel,
            term_weighting=params.term_weighting,
        )

    def fit(self, jobs: Sequence[JobDocument], graduates: Sequence[GraduateDocument] = ()) -> Self:
        """Fit vocabulary and idf over both sides and index every document."""
        model = self._text_model()
        job_tokens = [model.job_tokens(job) for job in jobs]
        graduate_tokens = [model.graduate_tokens(graduate) for graduate in graduates]
        vectors = model.fit_transform_tokens(job_tokens + graduate_tokens)
        self._start(model)
        self.data_hash_ = hash_tokens(
            [(job.id, tokens) for job, tokens in zip(jobs, job_tokens, strict=True)],
            [(g.id, tokens) for g, tokens in zip(graduates, graduate_tokens, strict=True)],
        )
        self._upsert_jobs(jobs, vectors[: len(jobs)])
        self._upsert_graduates(graduates, vectors[len(jobs) :])
        self.jobs_index_.compact()
        self.graduates_index_.compact()
        return self

    def _start(self, model: TextModel) -> None:
        """Set up empty indexes around a fitted text model."""
        self.text_model_ = model
        majors = self.majors or MajorTable(synonyms=model.tokenizer_.synonym_map())
        self.encoder_ = FeatureEncoder(majors=majors).fit()
        n_features = len(model.terms_)
        self.jobs_index_: SparseIndex[JobFeatures] = SparseIndex(
            n_features=n_features,
            concat=JobFeatures.concat,
            empty_features=self.encoder_.encode_jobs([]),
        )
        self.graduates_index_: SparseIndex[GraduateFeatures] = SparseIndex(
            n_features=n_features,
            concat=GraduateFeatures.concat,
            empty_features=self.encoder_.encode_graduates([]),
        )
        self.jobs_: dict[int, JobDocument] = {}
        self.graduates_: dict[int, GraduateDocument] = {}
        self._related: tuple[int, Any] | None = None
        if not hasattr(self, "data_hash_"):
            self.data_hash_ = ""
        if not hasattr(self, "version_"):
            self.version_ = ""

    def refit(self) -> Ranker:
        """A new ranker (a new version) fitted on the documents currently indexed."""
        return Ranker(self.params, tokenizer=self.tokenizer, majors=self.majors).fit(
            list(self.jobs_.values()), list(self.graduates_.values())
        )

    def save(self, root: str | Path, *, version: str | None = None) -> Path:
        """Write the fitted model to root/<version>/ (see app.ranking.artifacts)."""
        from app.ranking.artifacts import save_ranker

        return save_ranker(self, root, version=version)

    @classmethod
    def load(
        cls,
        folder: str | Path,
        *,
        jobs: Sequence[JobDocument] = (),
        graduates: Sequence[GraduateDocument] = (),
    ) -> Ranker:
        """A ranker from a saved version folder, indexing the given documents."""
        from app.ranking.artifacts import load_ranker

        return load_ranker(folder, jobs=jobs, graduates=graduates)

    # --- writes -------------------------------------------------------------------------

    def upsert_jobs(self, jobs: Sequence[JobDocument]) -> None:
        """Add or replace jobs (vectors from the fitted vocabulary)."""
        self._upsert_jobs(jobs, self.text_model_.transform_jobs(jobs))

    def upsert_graduates(self, graduates: Sequence[GraduateDocument]) -> None:
        """Add or replace graduates (vectors from the fitted vocabulary)."""
        self._upsert_graduates(graduates, self.text_model_.transform_graduates(graduates))

    def remove_jobs(self, ids: Sequence[int]) -> int:
        """Remove jobs by id; returns how many were indexed."""
        for doc_id in ids:
            self.jobs_.pop(doc_id, None)
        return self.jobs_index_.remove(ids)

    def remove_graduates(self, ids: Sequence[int]) -> int:
        """Remove graduates by id; returns how many were indexed."""
        for doc_id in ids:
            self.graduates_.pop(doc_id, None)
        return self.graduates_index_.remove(ids)

    def _upsert_jobs(self, jobs: Sequence[JobDocument], vectors: sp.csr_matrix) -> None:
        self.jobs_index_.upsert([j.id for j in jobs], vectors, self.encoder_.encode_jobs(jobs))
        self.jobs_.update((j.id, j) for j in jobs)

    def _upsert_graduates(
        self, graduates: Sequence[GraduateDocument], vectors: sp.csr_matrix
    ) -> None:
        features = self.encoder_.encode_graduates(graduates)
        self.graduates_index_.upsert([g.id for g in graduates], vectors, features)
        self.graduates_.update((g.id, g) for g in graduates)

    # --- ranking ------------------------------------------------------------------------

    def jobs_for_graduate(
        self,
        graduate: int | GraduateDocument,
        k: int = 10,
        *,
        filters: FilterSpec | None = None,
        explain: bool = True,
        exhaustive: bool = False,
    ) -> list[Match]:
        """The k jobs that fit a graduate best (by id of an indexed graduate, or a document)."""
        return self.jobs_for_graduates(
            [graduate], k, filters=filters, explain=explain, exhaustive=exhaustive
        )[0]

    def graduates_for_job(
        self,
        job: int | JobDocument,
        k: int = 10,
        *,
        filters: FilterSpec | None = None,
        explain: bool = True,
        exhaustive: bool = False,
    ) -> list[Match]:
        """The k graduates who fit a job best (by id of an indexed job, or a document)."""
        return self.graduates_for_jobs(
            [job], k, filters=filters, explain=explain, exhaustive=exhaustive
        )[0]

    def jobs_for_graduates(
        self,
        graduates: Sequence[int | GraduateDocument],
        k: int = 10,
        *,
        filters: FilterSpec | None = None,
        explain: bool = False,
        exhaustive: bool = False,
    ) -> list[list[Match]]:
        """Top-k jobs for each graduate; identical to one jobs_for_graduate call per graduate.

        exhaustive=True scores every candidate instead of pruning by bound: the same result,
        slower; it is there for benchmarks and checks.
        """
        docs = [self._graduate(g) for g in graduates]
        vectors = self._graduate_vectors(graduates, docs)
        features = self._query_features(
            graduates, docs, self.graduates_index_, self.encoder_.encode_graduates
        )
        spec = filters or FilterSpec()
        ranked = self._ranked("jobs", vectors, features, k, spec, exhaustive)
        return [
            self._matches("jobs", doc, top, query, spec, explain)
            for doc, (top, query) in zip(docs, ranked, strict=True)
        ]

    def graduates_for_jobs(
        self,
        jobs: Sequence[int | JobDocument],
        k: int = 10,
        *,
        filters: FilterSpec | None = None,
        explain: bool = False,
        exhaustive: bool = False,
    ) -> list[list[Match]]:
        """Top-k graduates for each job; identical to one graduates_for_job call per job."""
        docs = [self._job(j) for j in jobs]
        vectors = self._job_vectors(jobs, docs)
        features = self._query_features(jobs, docs, self.jobs_index_, self.encoder_.encode_jobs)
        spec = filters or FilterSpec()
        ranked = self._ranked("graduates", vectors, features, k, spec, exhaustive)
        return [
            self._matches("graduates", doc, top, query, spec, explain)
            for doc, (top, query) in zip(docs, ranked, strict=True)
        ]

    def score_rows(
        self,
        direction: Direction,
        text: FloatArray,
        query: Any,
        filters: FilterSpec,
        rows: np.ndarray[Any, np.dtype[np.intp]] | None = None,
        *,
        scale: np.float32 | None = None,
    ) -> PairScores:
        """Scores of one query against every indexed candidate, or against `rows` (with `text`
        their cosines), filtered candidates at -inf; `scale` is the query's text scale (by
        default from the best eligible of the rows scored, right when all rows are).

        The single way the ranker scores pairs (scoring.pair_scores): the pruned and the
        exhaustive top-k, one query and batches all come here, so they agree to the bit.
        """
        index = self._index(direction)
        allowed, _ = self._allowed(direction, filters)
        candidates = index.features
        if rows is not None:
            candidates, allowed = candidates.take(rows), allowed[rows]
        job, graduate = (candidates, query) if direction == "jobs" else (query, candidates)
        params = self.params_
        score = partial(
            pair_scores,
            job,
            graduate,
            text,
            related=self._related_matrix(),
            weights=params.weights,
            levels=params.major_levels,
            filters=filters,
            allowed=allowed,
        )
        if scale is None:
            eligible = np.isfinite(score(np.float32(1.0)).scores)
            scale = text_scale(float(text[eligible].max()) if eligible.any() else 0.0)
        return score(scale)

    def _ranked(
        self,
        direction: Direction,
        vectors: sp.csr_matrix,
        features: Any,
        k: int,
        filters: FilterSpec,
        exhaustive: bool,
    ) -> Iterator[tuple[Ranked, Callable[[], sp.csr_matrix]]]:
        """The top-k of each query vector, with a way to get the vector used (for explanations)."""
        index = self._index(direction)
        top = self._top_exhaustive if exhaustive else self._top
        for start in range(0, vectors.shape[0], BATCH_CHUNK):
            chunk = (
                vectors if vectors.shape[0] <= BATCH_CHUNK else vectors[start : start + BATCH_CHUNK]
            )
            text_block = index.cosine(chunk)
            if self.params_.feedback_docs > 0:
                chunk = self._expand(index, chunk, text_block)
                text_block = index.cosine(chunk)
            for offset in range(chunk.shape[0]):
                query = features.take(slice(start + offset, start + offset + 1))
                ranked = top(direction, text_block[offset], query, k, filters)
                yield ranked, partial(_row, chunk, offset)

    def _top(
        self, direction: Direction, text: FloatArray, query: Any, k: int, filters: FilterSpec
    ) -> Ranked:
        """The exact top-k of one query (`text` its cosine with every row), pruned by the
        structured bound (scoring.exact_top)."""
        index = self._index(direction)
        allowed, allowed_rows = self._allowed(direction, filters)
        params = self.params_
        top = exact_top(
            text,
            index.ids,
            k,
            allowed=allowed,
            allowed_rows=allowed_rows,
            eligible=partial(self._eligible, direction, query, filters),
            score=partial(self._score_some, direction, text, query, filters),
            reach=structured_reach(sub_score_ranges(query, params.major_levels), params.weights),
            slack=bound_slack(params.weights, params.major_levels),
            text_weight=params.weights.text,
            **self._major_boost(direction, query),
        )
        return Ranked(top, text[top.rows])

    def _major_boost(self, direction: Direction, query: Any) -> dict[str, Any]:
        """The candidate rows whose major part can beat the unknown and unrelated levels for
        this query (a listed major, its class or a related class), and the reach of the rest;
        nothing when the major part cannot vary (scoring.exact_top)."""
        params = self.params_
        levels = params.major_levels
        ranges = sub_score_ranges(query, levels)
        if params.weights.major == 0 or ranges[0][0] == ranges[0][1]:
            return {}
        if direction == "jobs":
            majors, classes = query.major[:1], query.major_class[:1]
        else:
            majors, classes = query.majors[0], query.classes[0]
        majors, classes = majors[majors != MISSING], classes[classes != MISSING]
        related = self._related_matrix()
        if classes.shape[0]:
            neighbours = np.flatnonzero(related[classes, :-1].any(axis=0))
            classes = np.union1d(classes, neighbours)
        index = self._index(direction)
        if direction == "jobs":
            major_column, class_column = "majors", "classes"
        else:
            major_column, class_column = "major", "major_class"
        boosted = np.union1d(
            rows_with(
                index.memo(("postings", major_column), partial(postings, index, major_column)),
                majors,
            ),
            rows_with(
                index.memo(("postings", class_column), partial(postings, index, class_column)),
                classes,
            ),
        )
        rest = (min(levels.unknown, levels.unrelated), max(levels.unknown, levels.unrelated))
        reach_rest = structured_reach((rest, *ranges[1:]), params.weights)
        return {"boosted": boosted.astype(np.intp), "reach_rest": reach_rest}

    def _top_exhaustive(
        self, direction: Direction, text: FloatArray, query: Any, k: int, filters: FilterSpec
    ) -> Ranked:
        """The top-k of one query from the scores of every eligible candidate."""
        index = self._index(direction)
        _, allowed_rows = self._allowed(direction, filters)
        top = exhaustive_top(
            text,
            index.ids,
            k,
            allowed_rows=allowed_rows,
            eligible=partial(self._eligible, direction, query, filters),
            score=partial(self._score_some, direction, text, query, filters),
        )
        return Ranked(top, text[top.rows])

    def _eligible(
        self,
        direction: Direction,
        query: Any,
        filters: FilterSpec,
        rows: np.ndarray[Any, np.dtype[np.intp]],
    ) -> BoolArray:
        return pair_mask_rows(direction, self._index(direction).features, rows, query, filters)

    def _score_some(
        self,
        direction: Direction,
        text: FloatArray,
        query: Any,
        filters: FilterSpec,
        rows: np.ndarray[Any, np.dtype[np.intp]],
        scale: np.float32,
    ) -> PairScores:
        return self.score_rows(direction, text[rows], query, filters, rows, scale=scale)

    def _allowed(
        self, direction: Direction, filters: FilterSpec
    ) -> tuple[BoolArray, np.ndarray[Any, np.dtype[np.intp]]]:
        """Live candidates passing the candidate-side constraints, as a mask and as rows; kept
        by the index until its next write, as they do not depend on the query."""
        index = self._index(direction)

        def compute() -> tuple[BoolArray, np.ndarray[Any, np.dtype[np.intp]]]:
            mask = index.alive & self.encoder_.candidate_mask(direction, index.features, filters)
            return mask, np.flatnonzero(mask)

        return index.memo(("allowed", filters), compute)

    def _expand(
        self, index: SparseIndex[Any], queries: sp.csr_matrix, text: FloatArray
    ) -> sp.csr_matrix:
        """Pseudo-relevance feedback: add the centroid of each query's best text matches.

        Short profiles share few words with the postings of their kind; the best matches carry
        the vocabulary of that kind of job (titles, tools), which the second pass can use.
        """
        params = self.params_
        expanded = []
        for row in range(queries.shape[0]):
            scores = np.where(index.alive, text[row], -np.inf).astype(np.float32)
            top = topk_rows(scores, index.ids, params.feedback_docs)
            top = top[scores[top] > 0]
            query = queries[row]
            if top.shape[0]:
                centroid = sp.vstack([index.vector(int(r)) for r in top], format="csr")
                centroid = sp.csr_matrix(centroid.mean(axis=0), dtype=np.float32)
                query = query + np.float32(params.feedback_weight) * centroid
                query = sp.csr_matrix(query / np.float32(sp.linalg.norm(query)), dtype=np.float32)
            expanded.append(query)
        return sp.vstack(expanded, format="csr", dtype=np.float32)

    def _matches(
        self,
        direction: Direction,
        doc: Any,
        ranked: Ranked,
        query: Callable[[], sp.csr_matrix],
        filters: FilterSpec,
        explain: bool,
    ) -> list[Match]:
        index = self._index(direction)
        top = ranked.top
        matches = []
        for position, row in enumerate(top.rows):
            parts = ScoreParts(
                text=float(top.text[position]),
                major=float(top.parts.major[position]),
                education=float(top.parts.education[position]),
                city=float(top.parts.city[position]),
                salary=float(top.parts.salary[position]),
                cosine=float(ranked.cosine[position]),
            )
            doc_id = int(index.ids[row])
            explanation = None
            if explain:
                best = float(1.0 / top.scale) if top.scale > 0 else 0.0
                explanation = self._explain(
                    direction, doc, doc_id, query(), index.vector(int(row)), parts, filters, best
                )
            matches.append(Match(doc_id, float(top.scores[position]), parts, explanation))
        return matches

    def _index(self, direction: Direction) -> SparseIndex[Any]:
        return self.jobs_index_ if direction == "jobs" else self.graduates_index_

    # --- explanations -------------------------------------------------------------------

    def explain(
        self,
        job_id: int,
        graduate_id: int,
        *,
        filters: FilterSpec | None = None,
        candidates: Direction = "jobs",
    ) -> Explanation | None:
        """Explanation of one indexed (job, graduate) pair, the job ranked for the graduate
        (candidates="jobs") or the graduate for the job ("graduates"): the text part is
        measured against the query's best eligible candidate. None if a filter excludes it."""
        filters = filters or FilterSpec()
        job_row, graduate_row = (
            self.jobs_index_.row_of(job_id),
            self.graduates_index_.row_of(graduate_id),
        )
        if job_row is None or graduate_row is None:
            raise KeyError((job_id, graduate_id))
        query_index: SparseIndex[Any]
        if candidates == "jobs":
            query_index, query_row, row = self.graduates_index_, graduate_row, job_row
            query_doc: Any = self.graduates_[graduate_id]
            doc_id = job_id
        else:
            query_index, query_row, row = self.jobs_index_, job_row, graduate_row
            query_doc, doc_id = self.jobs_[job_id], graduate_id
        query = query_index.vector(query_row)
        query_features = query_index.features.take(slice(query_row, query_row + 1))
        # The text part is measured against the query's best eligible candidate: score them all.
        text = self._index(candidates).cosine(query)[0]
        scored = self.score_rows(candidates, text, query_features, filters)
        if not np.isfinite(scored.scores[row]):
            return None
        best = float(text[np.isfinite(scored.scores)].max())
        parts = ScoreParts(
            text=float(scored.text[row]),
            major=float(scored.parts.major[row]),
            education=float(scored.parts.education[row]),
            city=float(scored.parts.city[row]),
            salary=float(scored.parts.salary[row]),
            cosine=float(text[row]),
        )
        doc = self._index(candidates).vector(row)
        return self._explain(candidates, query_doc, doc_id, query, doc, parts, filters, best)

    def _explain(
        self,
        direction: Direction,
        query_doc: Any,
        doc_id: int,
        query_vector: sp.csr_matrix,
        doc_vector: sp.csr_matrix,
        parts: ScoreParts,
        filters: FilterSpec,
        best_cosine: float,
    ) -> Explanation:
        terms = top_terms(
            query_vector, doc_vector, self.text_model_.terms_, self.params_.explain_terms
        )
        if direction == "jobs":
            job, graduate = self.jobs_[doc_id], query_doc
        else:
            job, graduate = query_doc, self.graduates_[doc_id]
        return Explanation(
            parts=parts,
            weights=self.params_.weights,
            terms=terms,
            filters_passed=filters.names(direction),
            missing_skills=self.missing_skills(job, graduate),
            major_level=self.params_.major_levels.name_of(parts.major),
            best_cosine=best_cosine,
        )

    def missing_skills(self, job: JobDocument, graduate: GraduateDocument) -> tuple[str, ...]:
        """The job's skills none of whose tokens appear anywhere in the graduate's text."""
        model = self.text_model_
        have = {t for tokens in model.graduate_field_tokens(graduate).values() for t in tokens}
        missing = []
        for skill in job.skills:
            tokens = model.tokenizer_.tokenize(skill)
            if tokens and not all(t in have for t in tokens):
                missing.append(skill)
        return tuple(missing)

    # --- helpers ------------------------------------------------------------------------

    def _related_matrix(self) -> Any:
        size = len(self.encoder_.class_codes_.codes)
        if self._related is None or self._related[0] != size:
            self._related = (size, self.encoder_.related_matrix())
        return self._related[1]

    def _graduate(self, graduate: int | GraduateDocument) -> GraduateDocument:
        return self.graduates_[graduate] if isinstance(graduate, int) else graduate

    def _job(self, job: int | JobDocument) -> JobDocument:
        return self.jobs_[job] if isinstance(job, int) else job

    def _graduate_vectors(
        self, refs: Sequence[int | GraduateDocument], docs: Sequence[GraduateDocument]
    ) -> sp.csr_matrix:
        return self._vectors(
            refs, docs, self.graduates_index_, self.text_model_.transform_graduates
        )

    def _job_vectors(
        self, refs: Sequence[int | JobDocument], docs: Sequence[JobDocument]
    ) -> sp.csr_matrix:
        return self._vectors(refs, docs, self.jobs_index_, self.text_model_.transform_jobs)

    def _query_features(
        self, refs: Sequence[Any], docs: Sequence[Any], index: SparseIndex[Any], encode: Any
    ) -> Any:
        """Feature rows of the queries: the indexed ones' own rows when all are indexed ids."""
        rows = [index.row_of(ref) if isinstance(ref, int) else None for ref in refs]
        if rows and all(row is not None for row in rows):
            return index.features.take(np.array(rows, dtype=np.intp))
        return encode(docs)

    def _vectors(
        self, refs: Sequence[Any], docs: Sequence[Any], index: SparseIndex[Any], transform: Any
    ) -> sp.csr_matrix:
        """Stored vectors for indexed ids, fresh ones for documents."""
        rows: list[sp.csr_matrix] = []
        fresh = [d for r, d in zip(refs, docs, strict=True) if not isinstance(r, int)]
        fresh_vectors = transform(fresh) if fresh else None
        f = 0
        for ref in refs:
            if isinstance(ref, int):
                row = index.row_of(ref)
                if row is None:
                    raise KeyError(ref)
                rows.append(index.vector(row))
            else:
                assert fresh_vectors is not None
                rows.append(fresh_vectors[f])
                f += 1
        if not rows:
            return sp.csr_matrix((0, len(self.text_model_.terms_)), dtype=np.float32)
        if len(rows) == 1:
            return rows[0]
        return sp.vstack(rows, format="csr", dtype=np.float32)


def postings(
    index: SparseIndex[Any], column: str
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The index's rows by the codes of one feature column (majors or classes): the codes
    sorted, and the row of each."""
    codes = np.asarray(getattr(index.features, column))
    # The width from the shape, not -1: an index of no rows cannot infer it.
    flat = codes.reshape(codes.shape[0], int(np.prod(codes.shape[1:], dtype=np.intp)))
    rows = np.repeat(np.arange(codes.shape[0], dtype=np.intp), flat.shape[1])
    values = flat.ravel()
    known = values != MISSING
    order = np.argsort(values[known], kind="stable")
    return values[known][order], rows[known][order]


def rows_with(
    posting: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]], codes: np.ndarray[Any, Any]
) -> np.ndarray[Any, np.dtype[np.intp]]:
    """The rows holding any of `codes`, from postings()."""
    values, rows = posting
    low = np.searchsorted(values, codes, side="left")
    high = np.searchsorted(values, codes, side="right")
    found = [rows[a:b] for a, b in zip(low.tolist(), high.tolist(), strict=True) if b > a]
    return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.intp)


def _row(matrix: sp.csr_matrix, row: int) -> sp.csr_matrix:
    return matrix if matrix.shape[0] == 1 else matrix[row]


def hash_tokens(*sides: Sequence[tuple[int, list[str]]]) -> str:
    """A content hash of the fitted documents (by id and weighted tokens)."""
    import hashlib

    digest = hashlib.sha256()
    for number, side in enumerate(sides):
        for doc_id, tokens in sorted(side, key=lambda item: item[0]):
            digest.update(f"{number}\t{doc_id}\t{' '.join(tokens)}\n".encode())
    return digest.hexdigest()
