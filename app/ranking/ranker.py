"""The ranker: exact top-k in both directions over a fitted ranker's indexes, with structured
fit, hard filters and explanations."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg  # noqa: F401  (sp.linalg.norm)

from app.ranking.arrays import BoolArray
from app.ranking.arrays import Float32Array as FloatArray
from app.ranking.components import sub_score_ranges
from app.ranking.documents import DocumentSource, GraduateDocument, JobDocument
from app.ranking.explanations import explain_match, missing_skills
from app.ranking.features import Direction
from app.ranking.filters import FilterSpec, pair_mask_rows
from app.ranking.fitting import FittedRanker
from app.ranking.index import SparseIndex
from app.ranking.queries import expand_queries, query_features, query_vectors
from app.ranking.results import Explanation, Match, Ranked, ScoreParts, score_parts
from app.ranking.scoring import (
    PairScores,
    bound_slack,
    exact_top,
    exhaustive_top,
    major_boost,
    pair_scores,
    structured_reach,
    text_scale,
)

# Query rows per sparse product in batch ranking: bounds the (chunk × N) score block.
BATCH_CHUNK = 64


class Ranker(FittedRanker):
    """Fit on jobs and graduates (FittedRanker), then rank either side for the other."""

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
        keep_documents: bool = True,
    ) -> Ranker:
        """A ranker from a saved version folder, indexing the given documents."""
        from app.ranking.artifacts import load_ranker

        return load_ranker(folder, jobs=jobs, graduates=graduates, keep_documents=keep_documents)

    # --- ranking ------------------------------------------------------------------------

    def jobs_for_graduate(
        self,
        graduate: int | GraduateDocument,
        k: int = 10,
        *,
        filters: FilterSpec | None = None,
        explain: bool = True,
        exhaustive: bool = False,
        documents: DocumentSource | None = None,
    ) -> list[Match]:
        """The k jobs that fit a graduate best (by id of an indexed graduate, or a document)."""
        return self.jobs_for_graduates(
            [graduate],
            k,
            filters=filters,
            explain=explain,
            exhaustive=exhaustive,
            documents=documents,
        )[0]

    def graduates_for_job(
        self,
        job: int | JobDocument,
        k: int = 10,
        *,
        filters: FilterSpec | None = None,
        explain: bool = True,
        exhaustive: bool = False,
        documents: DocumentSource | None = None,
    ) -> list[Match]:
        """The k graduates who fit a job best (by id of an indexed job, or a document)."""
        return self.graduates_for_jobs(
            [job], k, filters=filters, explain=explain, exhaustive=exhaustive, documents=documents
        )[0]

    def jobs_for_graduates(
        self,
        graduates: Sequence[int | GraduateDocument],
        k: int = 10,
        *,
        filters: FilterSpec | None = None,
        explain: bool = False,
        exhaustive: bool = False,
        documents: DocumentSource | None = None,
    ) -> list[list[Match]]:
        """Top-k jobs for each graduate; identical to one jobs_for_graduate call per graduate.

        exhaustive=True scores every candidate instead of pruning by bound: the same result,
        slower; it is there for benchmarks and checks. Explanations read the documents this
        ranker keeps, or those of `documents` when given (needed when it keeps none).
        """
        docs = [self._graduate(g) for g in graduates]
        return self._rank_queries(
            "jobs", graduates, docs, k, filters, explain, exhaustive, documents
        )

    def graduates_for_jobs(
        self,
        jobs: Sequence[int | JobDocument],
        k: int = 10,
        *,
        filters: FilterSpec | None = None,
        explain: bool = False,
        exhaustive: bool = False,
        documents: DocumentSource | None = None,
    ) -> list[list[Match]]:
        """Top-k graduates for each job; identical to one graduates_for_job call per job."""
        docs = [self._job(j) for j in jobs]
        return self._rank_queries(
            "graduates", jobs, docs, k, filters, explain, exhaustive, documents
        )

    def _rank_queries(
        self,
        direction: Direction,
        refs: Sequence[Any],
        docs: Sequence[Any],
        k: int,
        filters: FilterSpec | None,
        explain: bool,
        exhaustive: bool,
        documents: DocumentSource | None,
    ) -> list[list[Match]]:
        """The matches of each query (ids or documents of the side opposite `direction`)."""
        if explain and documents is None:
            self._need_documents("explain")
        model, encoder = self.text_model_, self.encoder_
        # The queries are of the other side: their index, vectoriser and feature encoder.
        index, transform, encode = (
            (self.graduates_index_, model.transform_graduates, encoder.encode_graduates)
            if direction == "jobs"
            else (self.jobs_index_, model.transform_jobs, encoder.encode_jobs)
        )
        vectors = query_vectors(refs, docs, index, transform, len(model.terms_))
        features = query_features(refs, docs, index, encode)
        spec = filters or FilterSpec()
        ranked: Iterator[tuple[Ranked, Callable[[], sp.csr_matrix]]] | list[Any]
        ranked = self._ranked(direction, vectors, features, k, spec, exhaustive)
        explained: Mapping[int, Any] | None = None
        if explain and documents is None:
            explained = self.jobs_ if direction == "jobs" else self.graduates_
        elif explain and documents is not None:
            # The candidates to explain are known once ranked: read them in one call.
            ranked = list(ranked)
            candidate_ids = self._index(direction).ids
            ids = {int(candidate_ids[row]) for top, _ in ranked for row in top.top.rows}
            explained = documents.jobs(ids) if direction == "jobs" else documents.graduates(ids)
            wanted = [ref for ref, doc in zip(refs, docs, strict=True) if doc is None]
            if wanted:
                read = documents.graduates if direction == "jobs" else documents.jobs
                found: Mapping[int, Any] = read(wanted)
                pairs = zip(refs, docs, strict=True)
                docs = [found.get(ref) if doc is None else doc for ref, doc in pairs]
        return [
            self._matches(direction, doc, top, query, spec, explained)
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
                params = self.params_
                chunk = expand_queries(
                    index, chunk, text_block, params.feedback_docs, params.feedback_weight
                )
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
            **major_boost(
                index, direction, query, self._related_matrix(), params.weights, params.major_levels
            ),
        )
        return Ranked(top, text[top.rows])

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
        by the index across writes (a write tests only the rows it added), as they do not
        depend on the query."""
        index = self._index(direction)

        def passes(features: Any) -> BoolArray:
            return self.encoder_.candidate_mask(direction, features, filters)

        return index.live_rows(filters, passes)

    def _matches(
        self,
        direction: Direction,
        doc: Any,
        ranked: Ranked,
        query: Callable[[], sp.csr_matrix],
        filters: FilterSpec,
        explained: Mapping[int, Any] | None,
    ) -> list[Match]:
        """`explained`: the candidates' documents when the matches are explained (a match whose
        query or candidate document could not be read has no explanation)."""
        index = self._index(direction)
        top = ranked.top
        matches = []
        for position, row in enumerate(top.rows):
            parts = score_parts(top, position, float(ranked.cosine[position]))
            doc_id = int(index.ids[row])
            explanation = None
            candidate = explained.get(doc_id) if explained is not None else None
            if doc is not None and candidate is not None:
                best = float(1.0 / top.scale) if top.scale > 0 else 0.0
                explanation = self._explain(
                    direction, doc, candidate, query(), index.vector(int(row)), parts, filters, best
                )
            matches.append(Match(doc_id, float(top.scores[position]), parts, explanation))
        return matches

    # --- explanations -------------------------------------------------------------------

    def explain(
        self,
        job_id: int,
        graduate_id: int,
        *,
        filters: FilterSpec | None = None,
        candidates: Direction = "jobs",
        documents: DocumentSource | None = None,
    ) -> Explanation | None:
        """Explanation of one indexed (job, graduate) pair, the job ranked for the graduate
        (candidates="jobs") or the graduate for the job ("graduates"): the text part is
        measured against the query's best eligible candidate. None if a filter excludes it,
        or if `documents` (read instead of the kept ones) no longer has one of the two."""
        if documents is None:
            self._need_documents("explain")
            job_doc, graduate_doc = self.jobs_.get(job_id), self.graduates_.get(graduate_id)
        else:
            job_doc = documents.jobs([job_id]).get(job_id)
            graduate_doc = documents.graduates([graduate_id]).get(graduate_id)
        filters = filters or FilterSpec()
        job_row, graduate_row = (
            self.jobs_index_.row_of(job_id),
            self.graduates_index_.row_of(graduate_id),
        )
        if job_row is None or graduate_row is None:
            raise KeyError((job_id, graduate_id))
        if job_doc is None or graduate_doc is None:
            return None
        query_index: SparseIndex[Any]
        query_doc: Any
        candidate_doc: Any
        if candidates == "jobs":
            query_index, query_row, row = self.graduates_index_, graduate_row, job_row
            query_doc, candidate_doc = graduate_doc, job_doc
        else:
            query_index, query_row, row = self.jobs_index_, job_row, graduate_row
            query_doc, candidate_doc = job_doc, graduate_doc
        query = query_index.vector(query_row)
        query_features = query_index.features.take(slice(query_row, query_row + 1))
        # The text part is measured against the query's best eligible candidate: score them all.
        text = self._index(candidates).cosine(query)[0]
        scored = self.score_rows(candidates, text, query_features, filters)
        if not np.isfinite(scored.scores[row]):
            return None
        best = float(text[np.isfinite(scored.scores)].max())
        parts = score_parts(scored, row, float(text[row]))
        doc = self._index(candidates).vector(row)
        return self._explain(candidates, query_doc, candidate_doc, query, doc, parts, filters, best)

    def _explain(
        self,
        direction: Direction,
        query_doc: Any,
        candidate_doc: Any,
        query_vector: sp.csr_matrix,
        doc_vector: sp.csr_matrix,
        parts: ScoreParts,
        filters: FilterSpec,
        best_cosine: float,
    ) -> Explanation:
        if direction == "jobs":
            job, graduate = candidate_doc, query_doc
        else:
            job, graduate = query_doc, candidate_doc
        params = self.params_
        return explain_match(
            self.text_model_,
            job=job,
            graduate=graduate,
            query_vector=query_vector,
            doc_vector=doc_vector,
            parts=parts,
            weights=params.weights,
            levels=params.major_levels,
            n_terms=params.explain_terms,
            filters_passed=filters.names(direction),
            best_cosine=best_cosine,
        )

    def missing_skills(self, job: JobDocument, graduate: GraduateDocument) -> tuple[str, ...]:
        """The job's skills none of whose tokens appear anywhere in the graduate's text."""
        return missing_skills(self.text_model_, job, graduate)


def _row(matrix: sp.csr_matrix, row: int) -> sp.csr_matrix:
    return matrix if matrix.shape[0] == 1 else matrix[row]
