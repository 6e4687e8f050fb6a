"""Exact top-k over sparse vectors: an index per side with upsert/remove by id, and a top-k
selection that breaks ties by id."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, Protocol, Self, TypeVar

import numpy as np
import scipy.sparse as sp

from app.ranking.arrays import Float32Array as FloatArray
from app.ranking.arrays import Int64Array as IdArray


def topk_rows(scores: FloatArray, ids: IdArray, k: int) -> np.ndarray[Any, np.dtype[np.intp]]:
    """Positions of the k best finite scores, best first, equal scores by ascending id."""
    n = scores.shape[0]
    if k <= 0 or n == 0:
        return np.empty(0, dtype=np.intp)
    if k >= n:
        chosen = np.arange(n)
    else:
        # argpartition finds the k-th best value; the set at that value is then cut by id so
        # the result does not depend on argpartition's arbitrary order among equals.
        kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
        above = np.flatnonzero(scores > kth)
        ties = np.flatnonzero(scores == kth)
        need = k - above.shape[0]
        if ties.shape[0] > need:
            ties = ties[np.argpartition(ids[ties], need - 1)[:need]] if need > 0 else ties[:0]
        chosen = np.concatenate([above, ties])
    chosen = chosen[np.isfinite(scores[chosen])]
    order = np.lexsort((ids[chosen], -scores[chosen]))
    return chosen[order]


class FeatureTable(Protocol):
    """Column store of structured features aligned with index rows."""

    def take(self, rows: Any) -> Self: ...


F = TypeVar("F", bound=FeatureTable)
T = TypeVar("T")
# Derived values kept between writes (one per filter spec in use): a bound on stale memory.
MEMO_SIZE = 32


class SparseIndex(Generic[F]):
    """Vectors and features of one side, addressable by integer id.

    Rows live in a main segment, kept transposed for fast products, and a small delta segment
    of recent writes; a write marks the old row dead and appends, so no refit or re-sort is
    needed. compact() folds the delta into the main segment and drops dead rows.
    """

    def __init__(
        self, *, n_features: int, concat: Any, empty_features: F, compact_ratio: float = 0.1
    ) -> None:
        self.n_features = n_features
        self.concat = concat
        self.compact_ratio = compact_ratio
        self._ids: IdArray = np.empty(0, dtype=np.int64)
        self._alive = np.empty(0, dtype=bool)
        self._row_of: dict[int, int] = {}
        self._main = sp.csr_matrix((0, n_features), dtype=np.float32)
        self._main_t = self._main.T.tocsr()
        self._delta_blocks: list[sp.csr_matrix] = []
        self._delta: sp.csr_matrix | None = None
        self._feature_blocks: list[F] = [empty_features]
        self._features: F | None = empty_features
        self._delta_t: sp.csr_matrix | None = None
        self._memo: dict[Hashable, Any] = {}

    def __len__(self) -> int:
        return len(self._row_of)

    @property
    def ids(self) -> IdArray:
        """Id of every row (dead rows included; see alive)."""
        return self._ids

    @property
    def alive(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Which rows hold the current version of a document."""
        return self._alive

    @property
    def features(self) -> F:
        """Structured features of every row."""
        if self._features is None or len(self._feature_blocks) > 1:
            self._features = self.concat(self._feature_blocks)
            self._feature_blocks = [self._features]
        assert self._features is not None
        return self._features

    def row_of(self, doc_id: int) -> int | None:
        """Row of a live document."""
        return self._row_of.get(doc_id)

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """A value derived from the current rows, computed once and kept until the next write."""
        if key not in self._memo:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = compute()
        value: T = self._memo[key]
        return value

    def upsert(self, ids: Sequence[int], vectors: sp.csr_matrix, features: F) -> None:
        """Add or replace documents by id."""
        if len(ids) == 0:
            return
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate ids in one upsert")
        self._memo.clear()
        for doc_id in ids:
            old = self._row_of.get(doc_id)
            if old is not None:
                self._alive[old] = False
        start = self._ids.shape[0]
        self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])
        self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=bool)])
        for offset, doc_id in enumerate(ids):
            self._row_of[doc_id] = start + offset
        self._delta_blocks.append(sp.csr_matrix(vectors, dtype=np.float32))
        self._delta = None
        self._delta_t = None
        self._feature_blocks.append(features)
        self._features = None
        if self._delta_rows() > max(1024, self.compact_ratio * self._main.shape[0]):
            self.compact()

    def remove(self, ids: Sequence[int]) -> int:
        """Remove documents by id; returns how many were present."""
        self._memo.clear()
        removed = 0
        for doc_id in ids:
            row = self._row_of.pop(doc_id, None)
            if row is not None:
                self._alive[row] = False
                removed += 1
        return removed

    def _delta_rows(self) -> int:
        return sum(block.shape[0] for block in self._delta_blocks)

    def _delta_matrix(self) -> sp.csr_matrix:
        if self._delta is None:
            if self._delta_blocks:
                self._delta = sp.vstack(self._delta_blocks, format="csr", dtype=np.float32)
            else:
                self._delta = sp.csr_matrix((0, self.n_features), dtype=np.float32)
        return self._delta

    def compact(self) -> None:
        """Fold recent writes into the main segment and drop dead rows."""
        rows = np.flatnonzero(self._alive)
        matrix = sp.vstack([self._main, self._delta_matrix()], format="csr", dtype=np.float32)
        features = self.features
        self._main = matrix[rows]
        self._main.sort_indices()
        self._main_t = self._main.T.tocsr()
        self._ids = self._ids[rows]
        self._alive = np.ones(rows.shape[0], dtype=bool)
        self._row_of = {int(doc_id): row for row, doc_id in enumerate(self._ids)}
        self._delta_blocks = []
        self._delta = None
        self._delta_t = None
        self._memo.clear()
        self._features = features.take(rows)
        self._feature_blocks = [self._features]

    def vector(self, row: int) -> sp.csr_matrix:
        """The stored vector of a row."""
        n_main = self._main.shape[0]
        if row < n_main:
            return self._main[row]
        return self._delta_matrix()[row - n_main]

    def cosine(self, queries: sp.csr_matrix) -> FloatArray:
        """Dot products (cosines) of query rows with every row: a dense (queries × rows) array."""
        # The main segment is kept transposed, so a query only adds up the postings of its own
        # terms: term by term in float32, the order of scipy's sparse product, whose values
        # these are; one query's scores never depend on the others in the call.
        queries = sp.csr_matrix(queries, dtype=np.float32)
        n_main = self._main.shape[0]
        delta = self._delta_matrix()
        if delta.shape[0] and self._delta_t is None:
            self._delta_t = delta.T.tocsr()
        scores = np.zeros((queries.shape[0], self._ids.shape[0]), dtype=np.float32)
        for row in range(queries.shape[0]):
            span = slice(queries.indptr[row], queries.indptr[row + 1])
            terms, weights = queries.indices[span], queries.data[span]
            _add_postings(scores[row, :n_main], self._main_t, terms, weights)
            if self._delta_t is not None:
                _add_postings(scores[row, n_main:], self._delta_t, terms, weights)
        return scores


def _add_postings(
    scores: FloatArray, postings: sp.csr_matrix, terms: Any, weights: FloatArray
) -> None:
    """scores += weight · postings row, for each (term, weight), in place."""
    indptr, rows, values = postings.indptr, postings.indices, postings.data
    for term, weight in zip(terms.tolist(), weights, strict=True):
        start, end = indptr[term], indptr[term + 1]
        if start < end:
            # A term's postings name each row once, so the fancy-index add is exact.
            scores[rows[start:end]] += weight * values[start:end]
