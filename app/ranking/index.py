"""Exact top-k over sparse vectors: an index per side with upsert/remove by id, and a top-k
selection that breaks ties by id."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, Self, TypeVar

import numba
import numpy as np
import scipy.sparse as sp

from app.ranking.arrays import BoolArray
from app.ranking.arrays import Float32Array as FloatArray
from app.ranking.arrays import Int64Array as IdArray
from app.ranking.arrays import IntpArray as RowArray


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

    def with_capacity(self, used: int, capacity: int) -> Self: ...

    def write(self, start: int, part: Self) -> None: ...


F = TypeVar("F", bound=FeatureTable)
T = TypeVar("T")
# Derived values kept between writes (one per filter spec in use): a bound on stale memory.
MEMO_SIZE = 32


@dataclass(frozen=True, slots=True)
class _Segment:
    """Rows written since the last compaction, and their transpose (term → rows)."""

    rows: sp.csr_matrix
    postings: sp.csr_matrix

    @classmethod
    def of(cls, rows: sp.csr_matrix) -> _Segment:
        return cls(rows, rows.T.tocsr())


@dataclass(frozen=True, slots=True)
class _LiveRows:
    """A kept set of live rows: its mask and rows, and how much of the index it has seen."""

    mask: BoolArray
    rows: RowArray
    rows_seen: int
    deaths_seen: int


class SparseIndex(Generic[F]):
    """Vectors and features of one side, addressable by integer id.

    Rows live in a main segment, kept transposed for fast products, and a small delta segment
    of recent writes; a write marks the old row dead and appends, so no refit or re-sort is
    needed. compact() folds the delta into the main segment and drops dead rows.
    """

    def __init__(self, *, n_features: int, empty_features: F, compact_ratio: float = 0.1) -> None:
        self.n_features = n_features
        self.compact_ratio = compact_ratio
        # Rows so far (dead ones included) in arrays with room to spare: an online add
        # appends in place instead of copying every id and feature (grown by doubling,
        # amortised O(1)); concatenating the features per add cost the next query 1.8 ms at
        # 300k postings.
        self._rows = 0
        self._id_store: IdArray = np.empty(0, dtype=np.int64)
        self._alive_store = np.empty(0, dtype=bool)
        self._feature_store: F = empty_features
        self._features: F | None = None
        self._row_of: dict[int, int] = {}
        self._main = sp.csr_matrix((0, n_features), dtype=np.float32)
        self._main_t = self._main.T.tocsr()
        # Recent writes in segments, each kept both ways (rows, and transposed for products),
        # sizes decreasing: a write adds a segment and merges equal ones, as a binary counter
        # does, so a query reads O(log n) segments and a row is copied O(log n) times. One
        # delta restacked and transposed per write cost the next query O(delta) instead.
        self._segments: list[_Segment] = []
        self._memo: dict[Hashable, Any] = {}
        self._live: dict[Hashable, _LiveRows] = {}
        # Rows that died (replaced or removed) since the last compaction, in order: each kept
        # live-row set drops those it has not seen yet.
        self._deaths: list[int] = []

    def __len__(self) -> int:
        return len(self._row_of)

    @property
    def ids(self) -> IdArray:
        """Id of every row (dead rows included; see alive)."""
        return self._id_store[: self._rows]

    @property
    def alive(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Which rows hold the current version of a document."""
        return self._alive_store[: self._rows]

    @property
    def features(self) -> F:
        """Structured features of every row (views of the store, made once per write)."""
        features = self._features
        if features is None:
            features = self._features = self._feature_store.take(slice(0, self._rows))
        return features

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

    def live_rows(
        self, key: Hashable, passes: Callable[[F], BoolArray]
    ) -> tuple[BoolArray, RowArray]:
        """Live rows whose features pass `passes` (a test of each row on its own), as a mask
        and as rows. Kept across writes: after one, only the rows it added are tested and the
        rows it killed are dropped (testing every row again cost the first query after an
        online add 1 ms at 300k postings)."""
        entry = self._live.get(key)
        if entry is None:
            if len(self._live) >= MEMO_SIZE:
                self._live.clear()
            mask = self.alive & passes(self.features)
        elif entry.rows_seen < self._rows or entry.deaths_seen < len(self._deaths):
            # New arrays, never the kept ones changed: a caller may still hold those.
            mask = np.empty(self._rows, dtype=bool)
            mask[: entry.rows_seen] = entry.mask
            added = slice(entry.rows_seen, self._rows)
            mask[added] = self.alive[added] & passes(self.features.take(added))
            mask[np.asarray(self._deaths[entry.deaths_seen :], dtype=np.intp)] = False
        else:
            return entry.mask, entry.rows
        entry = _LiveRows(mask, np.flatnonzero(mask), self._rows, len(self._deaths))
        self._live[key] = entry
        return entry.mask, entry.rows

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
                self._alive_store[old] = False
                self._deaths.append(old)
        start, end = self._rows, self._rows + len(ids)
        if end > self._id_store.shape[0]:
            self._grow(max(end, 2 * self._id_store.shape[0]))
        self._id_store[start:end] = ids
        self._alive_store[start:end] = True
        self._rows = end
        for offset, doc_id in enumerate(ids):
            self._row_of[doc_id] = start + offset
        self._feature_store.write(start, features)
        self._features = None
        self._add_segment(sp.csr_matrix(vectors, dtype=np.float32))
        if self._delta_rows() > max(1024, self.compact_ratio * self._main.shape[0]):
            self.compact()

    def build(self, ids: Sequence[int], blocks: list[sp.csr_matrix], features: F) -> None:
        """Fill an empty index with rows given as blocks of vectors (in order), emptying
        `blocks` as they are copied in: the same index as one upsert and compact(), with one
        copy of the vectors alive at a time instead of four."""
        if self._rows:
            raise ValueError("build fills an empty index")
        id_array = np.asarray(ids, dtype=np.int64)
        if np.unique(id_array).size != id_array.size:
            raise ValueError("duplicate ids in one upsert")
        self._memo.clear()
        self._main = stack_rows(blocks, self.n_features)
        self._main.sort_indices()
        self._main_t = self._main.T.tocsr()
        self._id_store = id_array
        self._alive_store = np.ones(id_array.shape[0], dtype=bool)
        self._rows = id_array.shape[0]
        self._row_of = {doc_id: row for row, doc_id in enumerate(id_array.tolist())}
        self._segments = []
        self._feature_store, self._features = features, None
        self._live, self._deaths = {}, []

    def remove(self, ids: Sequence[int]) -> int:
        """Remove documents by id; returns how many were present."""
        self._memo.clear()
        removed = 0
        for doc_id in ids:
            row = self._row_of.pop(doc_id, None)
            if row is not None:
                self._alive_store[row] = False
                self._deaths.append(row)
                removed += 1
        return removed

    def _grow(self, capacity: int) -> None:
        ids = np.empty(capacity, dtype=np.int64)
        alive = np.zeros(capacity, dtype=bool)
        ids[: self._rows] = self.ids
        alive[: self._rows] = self.alive
        self._id_store, self._alive_store = ids, alive
        # New columns: a reader's features keep the old ones, which no write touches again.
        self._feature_store = self._feature_store.with_capacity(self._rows, capacity)
        self._features = None

    def _delta_rows(self) -> int:
        return sum(segment.rows.shape[0] for segment in self._segments)

    def _add_segment(self, rows: sp.csr_matrix) -> None:
        segments = self._segments
        segments.append(_Segment.of(rows))
        while len(segments) >= 2 and segments[-2].rows.shape[0] <= segments[-1].rows.shape[0]:
            later, earlier = segments.pop(), segments.pop()
            merged = sp.vstack([earlier.rows, later.rows], format="csr", dtype=np.float32)
            segments.append(_Segment.of(merged))

    def compact(self) -> None:
        """Fold recent writes into the main segment and drop dead rows."""
        rows = np.flatnonzero(self.alive)
        matrix = sp.vstack(
            [self._main, *(segment.rows for segment in self._segments)],
            format="csr",
            dtype=np.float32,
        )
        features = self.features
        self._main = matrix[rows]
        self._main.sort_indices()
        self._main_t = self._main.T.tocsr()
        self._id_store = self.ids[rows]
        self._alive_store = np.ones(rows.shape[0], dtype=bool)
        self._rows = rows.shape[0]
        self._row_of = {int(doc_id): row for row, doc_id in enumerate(self._id_store.tolist())}
        self._segments = []
        self._memo.clear()
        self._live, self._deaths = {}, []  # rows are numbered anew
        self._feature_store, self._features = features.take(rows), None

    def vector(self, row: int) -> sp.csr_matrix:
        """The stored vector of a row."""
        start = self._main.shape[0]
        if row < start:
            return self._main[row]
        for segment in self._segments:
            if row < start + segment.rows.shape[0]:
                return segment.rows[row - start]
            start += segment.rows.shape[0]
        raise IndexError(f"row {row} is not in the index")

    def cosine(self, queries: sp.csr_matrix) -> FloatArray:
        """Dot products (cosines) of query rows with every row: a dense (queries × rows) array."""
        # The main segment is kept transposed, so a query only adds up the postings of its own
        # terms: term by term in float32, the order of scipy's sparse product, whose values
        # these are; one query's scores never depend on the others in the call.
        queries = sp.csr_matrix(queries, dtype=np.float32)
        start = self._main.shape[0]
        scores = np.zeros((queries.shape[0], self._rows), dtype=np.float32)
        query_parts = (queries.indptr, queries.indices, queries.data)
        _add_postings(scores[:, :start], *_postings(self._main_t), *query_parts)
        for segment in self._segments:
            end = start + segment.rows.shape[0]
            _add_postings(scores[:, start:end], *_postings(segment.postings), *query_parts)
            start = end
        return scores


def stack_rows(blocks: list[sp.csr_matrix], n_features: int) -> sp.csr_matrix:
    """The blocks' rows in one float32 CSR matrix of n_features columns (blocks may have
    fewer), within-row order kept; `blocks` is emptied, each block let go once copied."""
    n_rows = sum(block.shape[0] for block in blocks)
    nnz = sum(block.nnz for block in blocks)
    index_dtype = np.int32 if max(nnz, n_features) < np.iinfo(np.int32).max else np.int64
    data = np.empty(nnz, dtype=np.float32)
    indices = np.empty(nnz, dtype=index_dtype)
    indptr = np.zeros(n_rows + 1, dtype=index_dtype)
    row = position = 0
    blocks.reverse()
    while blocks:
        block = blocks.pop()
        rows, size = block.shape[0], block.nnz
        data[position : position + size] = block.data
        indices[position : position + size] = block.indices
        indptr[row + 1 : row + rows + 1] = block.indptr[1:] + position
        row, position = row + rows, position + size
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_features), copy=False)


def _postings(matrix: sp.csr_matrix) -> tuple[Any, Any, Any]:
    return matrix.indptr, matrix.indices, matrix.data


@numba.njit(nogil=True)
def _add_postings(
    scores: FloatArray,
    indptr: Any,
    rows: Any,
    values: FloatArray,
    query_indptr: Any,
    terms: Any,
    weights: FloatArray,
) -> None:
    """scores[q] += weight · postings row, for each (term, weight) of each query q, in place.

    Compiled: a NumPy fancy-index add per term was 37 % of a query (gather, add, scatter and
    their temporaries). The order of the sums, term by term in float32, is scipy's sparse
    product's, so the values are its values."""
    for query in range(query_indptr.shape[0] - 1):
        for position in range(query_indptr[query], query_indptr[query + 1]):
            term = terms[position]
            weight = weights[position]
            for posting in range(indptr[term], indptr[term + 1]):
                scores[query, rows[posting]] += weight * values[posting]
