"""A fitted Ranker → the arrays a batch top-k needs: the candidate side, the queries in a fixed
order, and their chunks. Pure: no database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from app.batch.topk import (
    CandidateSide,
    Features,
    Float64Array,
    IdArray,
    QueryChunk,
    RankSpec,
    document_ranges,
    group_labels,
    pair_keys,
)
from app.ranking import FilterSpec, Ranker, SparseIndex
from app.ranking.structured import Direction

SIDES: tuple[Direction, ...] = ("jobs", "graduates")


def other(direction: Direction) -> Direction:
    """The side whose documents are the queries when `direction`'s are the candidates."""
    return "graduates" if direction == "jobs" else "jobs"


def _index(ranker: Ranker, side: Direction) -> SparseIndex[Any]:
    return ranker.jobs_index_ if side == "jobs" else ranker.graduates_index_


def _vectors(index: SparseIndex[Any], rows: np.ndarray[Any, Any]) -> sp.csr_matrix:
    """The stored vectors of some rows, stacked (the vectors the online path multiplies)."""
    n_features = index.n_features
    if rows.shape[0] == 0:
        return sp.csr_matrix((0, n_features), dtype=np.float32)
    matrix = sp.vstack([index.vector(int(row)) for row in rows], format="csr", dtype=np.float32)
    matrix.sort_indices()
    return matrix


def _eligible(ranker: Ranker, side: Direction, filters: FilterSpec) -> np.ndarray[Any, Any]:
    """Live rows of a side passing the candidate-side filters (status: open jobs, seeking
    graduates by default), in id order."""
    index = _index(ranker, side)
    mask = index.alive & ranker.encoder_.candidate_mask(side, index.features, filters)
    rows = np.flatnonzero(mask)
    return rows[np.argsort(index.ids[rows], kind="stable")]


def candidate_side(ranker: Ranker, direction: Direction, filters: FilterSpec) -> CandidateSide:
    """The candidates of `direction` that the online ranker could return under `filters`."""
    index = _index(ranker, direction)
    rows = _eligible(ranker, direction, filters)
    return CandidateSide(
        direction=direction,
        ids=index.ids[rows].astype(np.int64),
        vectors=_vectors(index, rows),
        features=index.features.take(rows),
        related=ranker.encoder_.related_matrix(),
        levels=ranker.params_.major_levels,
    )


@dataclass(frozen=True, slots=True)
class QuerySet:
    """Every query of one direction, ordered by filter group then id, so a chunk holds few
    groups; the order depends on the data only, so a resumed run cuts the same chunks."""

    direction: Direction
    ids: IdArray
    vectors: sp.csr_matrix
    features: Features
    ranges: Float64Array

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def chunk(self, number: int, rows: int) -> QueryChunk:
        """Chunk `number` of `rows` queries."""
        part = slice(number * rows, (number + 1) * rows)
        return QueryChunk(
            ids=self.ids[part],
            vectors=self.vectors[part],
            features=self.features.take(part),
            ranges=self.ranges[part],
        )

    def chunk_count(self, rows: int) -> int:
        """How many chunks of `rows` queries there are."""
        return -(-len(self) // rows)


def query_set(ranker: Ranker, direction: Direction, filters: FilterSpec) -> QuerySet:
    """The queries of a batch ranking `direction`: the other side's documents that the same
    status filter keeps (seeking graduates for jobs, open jobs for graduates)."""
    side = other(direction)
    index = _index(ranker, side)
    status_only = FilterSpec(
        status=filters.status,
        job_statuses=filters.job_statuses,
        graduate_statuses=filters.graduate_statuses,
    )
    rows = _eligible(ranker, side, status_only)
    features = index.features.take(rows)
    ranges = document_ranges(features, ranker.params_.major_levels)
    labels = group_labels(pair_keys(direction, features))
    order = np.lexsort((index.ids[rows], labels))
    rows = rows[order]
    return QuerySet(
        direction=direction,
        ids=index.ids[rows].astype(np.int64),
        vectors=_vectors(index, rows),
        features=index.features.take(rows),
        ranges=ranges[order],
    )


def rank_spec(ranker: Ranker, *, k: int, pool: int, threads: int, filters: FilterSpec) -> RankSpec:
    """The batch spec matching the ranker's weights and major levels."""
    params = ranker.params_
    if params.feedback_docs > 0:
        # Online queries are then expanded with their best matches first (Ranker._expand).
        raise ValueError("batch re-ranking does not support pseudo-relevance feedback")
    return RankSpec(
        k=k,
        pool=max(pool, k),
        weights=params.weights,
        levels=params.major_levels,
        filters=filters,
        threads=threads,
    )
