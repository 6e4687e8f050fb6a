"""What one batch top-k call works on: the spec, one side's candidates (with the subsets and
arrays it derives per group of queries, cached per process), a chunk of queries, the result,
and the keys that group queries getting the same candidates."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from app.ranking import FilterSpec, MajorFitLevels, StructuredFitWeights
from app.ranking.arrays import BoolArray
from app.ranking.components import Components, sub_score_ranges
from app.ranking.features import Direction, GraduateFeatures, JobFeatures
from app.ranking.scoring import bound_slack

Features = JobFeatures | GraduateFeatures

IdArray = np.ndarray[Any, np.dtype[np.int64]]

IntpArray = np.ndarray[Any, np.dtype[np.intp]]

FloatArray = np.ndarray[Any, np.dtype[np.float32]]

Float64Array = np.ndarray[Any, np.dtype[np.float64]]

# Arrays a candidate side derives per group (masks, sub-scores), kept per process up to this.
CACHE_BYTES = 64 << 20

COMPONENTS = ("major", "education", "city", "salary")


@dataclass(frozen=True, slots=True)
class RankSpec:
    """Everything that shapes a batch top-k besides the data.

    `pool` is the candidates per query the sparse product keeps (by bound); the larger, the
    fewer queries fall back to a full recomputation. `block_rows` splits a group's candidates
    into blocks whose products are merged, bounding the product's working memory.
    """

    k: int = 20
    pool: int = 80
    weights: StructuredFitWeights = field(default_factory=StructuredFitWeights)
    levels: MajorFitLevels = field(default_factory=MajorFitLevels)
    filters: FilterSpec = field(default_factory=FilterSpec)
    threads: int = 2
    block_rows: int = 1 << 18

    def slack(self) -> float:
        """The float rounding allowance of bounds (scoring.bound_slack)."""
        return bound_slack(self.weights, self.levels)


def document_ranges(features: Features, levels: MajorFitLevels) -> Float64Array:
    """(rows × 4 × 2): the lowest and highest (major, education, city, salary) sub-score each
    document can get against any counterpart, by the ranking core's own rules."""
    n = int(features.status.shape[0])
    out = np.empty((n, 4, 2), dtype=np.float64)
    for row in range(n):
        out[row] = sub_score_ranges(features.take(slice(row, row + 1)), levels)
    return out


@dataclass(frozen=True, slots=True)
class Subset:
    """The candidates one group of queries can get: rows of the side, ids, features, vectors
    (rows, for exact cosines) and, per block, the vectors transposed (terms × candidates)."""

    key: bytes
    rows: IntpArray
    ids: IdArray
    features: Features
    vectors: sp.csr_matrix
    blocks: tuple[sp.csr_matrix, ...]
    starts: tuple[int, ...]


class CandidateSide:
    """One side's candidates that pass the candidate-side filters: ids, l2-normalised text
    vectors (rows), structured features and sub-score ranges, and the major relation table.

    Shipped once to every Dask worker; what it derives per group (masked subsets, education and
    city sub-scores) is a per-process cache and is not pickled.
    """

    def __init__(
        self,
        *,
        direction: Direction,
        ids: IdArray,
        vectors: sp.csr_matrix,
        features: Features,
        related: BoolArray,
        levels: MajorFitLevels,
        ranges: Float64Array | None = None,
    ) -> None:
        if vectors.shape[0] != ids.shape[0]:
            raise ValueError("one vector per candidate id")
        self.direction: Direction = direction
        self.ids = np.asarray(ids, dtype=np.int64)
        self.vectors = sp.csr_matrix(vectors, dtype=np.float32)
        self.vectors.sort_indices()
        self.features = features
        self.related = related
        self.levels = levels
        self.ranges = document_ranges(features, levels) if ranges is None else ranges
        self._cache: dict[Any, np.ndarray[Any, Any]] = {}
        self._cached_bytes = 0
        self._subsets: dict[bytes, Subset] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}
        state["_cached_bytes"] = 0
        state["_subsets"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def cached(self, key: Any, compute: Callable[[], np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
        """An array derived from this side, computed once per process while the arrays kept
        stay under CACHE_BYTES (oldest dropped first)."""
        found = self._cache.get(key)
        if found is not None:
            return found
        value = compute()
        while self._cache and self._cached_bytes + value.nbytes > CACHE_BYTES:
            self._cached_bytes -= self._cache.pop(next(iter(self._cache))).nbytes
        self._cache[key] = value
        self._cached_bytes += value.nbytes
        return value

    def subset(self, mask: BoolArray, block_rows: int) -> Subset:
        """The candidates under `mask`, kept while the subsets held stay within about twice
        the side's own vectors (oldest dropped first)."""
        key = hashlib.blake2b(np.packbits(mask).tobytes(), digest_size=16).digest()
        key += block_rows.to_bytes(8, "little")
        found = self._subsets.get(key)
        if found is not None:
            return found
        rows = np.flatnonzero(mask).astype(np.intp)
        vectors = self.vectors[rows]
        starts = tuple(range(0, max(rows.shape[0], 1), block_rows))
        blocks = tuple(vectors[start : start + block_rows].T.tocsr() for start in starts)
        subset = Subset(
            key, rows, self.ids[rows], self.features.take(rows), vectors, blocks, starts
        )
        budget = max(self.vectors.nnz, 1)
        while (
            self._subsets
            and sum(s.vectors.nnz for s in self._subsets.values()) + vectors.nnz > budget
        ):
            self._subsets.pop(next(iter(self._subsets)))
        self._subsets[key] = subset
        return subset


@dataclass(frozen=True, slots=True)
class QueryChunk:
    """Query rows of one chunk: ids, text vectors, structured features and sub-score ranges."""

    ids: IdArray
    vectors: sp.csr_matrix
    features: Features
    ranges: Float64Array

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """The top-k of every query of a chunk, one entry per (query, rank), in chunk order with
    ranks from 1; `widened` counts queries settled by a wider pool, `fallbacks` queries
    recomputed over every candidate, `pairs_scored` the pairs whose structured fit was
    computed."""

    query_ids: IdArray
    ranks: np.ndarray[Any, np.dtype[np.int32]]
    candidate_ids: IdArray
    scores: FloatArray
    text: FloatArray
    parts: Components
    queries: int
    fallbacks: int
    widened: int
    pairs_scored: int

    def __len__(self) -> int:
        return int(self.query_ids.shape[0])


def pair_keys(direction: Direction, queries: Features) -> np.ndarray[Any, np.dtype[np.int64]]:
    """One row per query such that equal rows pass the education and city pair filters with the
    same candidates and get the same education and city sub-scores from each (the columns
    `pair_mask` and `score_components` read for those)."""
    if direction == "jobs":
        assert isinstance(queries, GraduateFeatures)
        # Desired places as a multiset of (place, province) slots: their order does not matter.
        slots = (queries.desired.astype(np.int64) << 32) | (
            queries.desired_province.astype(np.int64) & 0xFFFFFFFF
        )
        columns = [
            queries.education[:, None].astype(np.int64),
            queries.anywhere[:, None].astype(np.int64),
            np.sort(slots, axis=1),
        ]
    else:
        assert isinstance(queries, JobFeatures)
        columns = [
            queries.education[:, None].astype(np.int64),
            queries.anywhere[:, None].astype(np.int64),
            queries.city[:, None].astype(np.int64),
            queries.province[:, None].astype(np.int64),
        ]
    return np.ascontiguousarray(np.hstack(columns))


def group_labels(keys: np.ndarray[Any, np.dtype[np.int64]]) -> IntpArray:
    """A label per row of `pair_keys`, equal for equal rows (in the keys' sort order)."""
    if keys.shape[0] == 0:
        return np.empty(0, dtype=np.intp)
    _, labels = np.unique(keys, axis=0, return_inverse=True)
    return np.asarray(labels, dtype=np.intp).reshape(-1)
