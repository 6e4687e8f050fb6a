"""A fitted Ranker → the arrays a batch top-k needs: each side's documents (vectors, features,
sub-score ranges) gathered once, the candidate side, the queries in a fixed order, and their
chunks. Pure: no database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from app.batch.sides import (
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
from app.ranking.features import Direction

SIDES: tuple[Direction, ...] = ("jobs", "graduates")


def other(direction: Direction) -> Direction:
    """The side whose documents are the queries when `direction`'s are the candidates."""
    return "graduates" if direction == "jobs" else "jobs"


def _index(ranker: Ranker, side: Direction) -> SparseIndex[Any]:
    return ranker.jobs_index_ if side == "jobs" else ranker.graduates_index_


def status_only(filters: FilterSpec) -> FilterSpec:
    """The status part of a filter spec: which documents take part at all."""
    return FilterSpec(
        status=filters.status,
        job_statuses=filters.job_statuses,
        graduate_statuses=filters.graduate_statuses,
    )


@dataclass(frozen=True, slots=True)
class SideDocuments:
    """One side's documents that pass the status filter, in id order: ids, the stored vectors
    (those the online path multiplies), features and sub-score ranges."""

    side: Direction
    ids: IdArray
    vectors: sp.csr_matrix
    features: Features
    ranges: Float64Array

    def take(self, rows: np.ndarray[Any, Any]) -> SideDocuments:
        """Some of the documents, in the given order."""
        return SideDocuments(
            self.side,
            self.ids[rows],
            self.vectors[rows],
            self.features.take(rows),
            self.ranges[rows],
        )


def side_documents(ranker: Ranker, side: Direction, filters: FilterSpec) -> SideDocuments:
    """The documents of `side` passing the status filter of `filters`."""
    index = _index(ranker, side)
    mask = index.alive & ranker.encoder_.candidate_mask(side, index.features, status_only(filters))
    rows = np.flatnonzero(mask)
    rows = rows[np.argsort(index.ids[rows], kind="stable")]
    if rows.shape[0]:
        vectors = sp.vstack(
            [index.vector(int(row)) for row in rows], format="csr", dtype=np.float32
        )
    else:
        vectors = sp.csr_matrix((0, index.n_features), dtype=np.float32)
    vectors.sort_indices()
    features = index.features.take(rows)
    return SideDocuments(
        side=side,
        ids=index.ids[rows].astype(np.int64),
        vectors=vectors,
        features=features,
        ranges=document_ranges(features, ranker.params_.major_levels),
    )


def candidate_side(
    ranker: Ranker,
    direction: Direction,
    filters: FilterSpec,
    documents: SideDocuments | None = None,
) -> CandidateSide:
    """The candidates of `direction` that the online ranker could return under `filters`
    (`documents`: that side's documents, when already gathered)."""
    documents = documents or side_documents(ranker, direction, filters)
    keep = np.flatnonzero(ranker.encoder_.candidate_mask(direction, documents.features, filters))
    chosen = documents.take(keep)
    return CandidateSide(
        direction=direction,
        ids=chosen.ids,
        vectors=chosen.vectors,
        features=chosen.features,
        related=ranker.encoder_.related_matrix(),
        levels=ranker.params_.major_levels,
        ranges=chosen.ranges,
    )


@dataclass(frozen=True, slots=True)
class QuerySet(QueryChunk):
    """Every query of one direction, ordered by filter group then id, so a chunk holds few
    groups; the order depends on the data only, so a resumed run cuts the same chunks."""

    direction: Direction

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


def query_set(
    ranker: Ranker,
    direction: Direction,
    filters: FilterSpec,
    documents: SideDocuments | None = None,
) -> QuerySet:
    """The queries of a batch ranking `direction`: the other side's documents that the same
    status filter keeps (seeking graduates for jobs, open jobs for graduates)."""
    documents = documents or side_documents(ranker, other(direction), filters)
    labels = group_labels(pair_keys(direction, documents.features))
    ordered = documents.take(np.lexsort((documents.ids, labels)))
    return QuerySet(
        direction=direction,
        ids=ordered.ids,
        vectors=ordered.vectors,
        features=ordered.features,
        ranges=ordered.ranges,
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
