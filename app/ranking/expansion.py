"""Document expansion with term associations learned from the postings themselves.

A posting names its kind of work in its own words; a profile of the same kind often uses others
(a requirement list says 财务 and 税法, the posting 会计 and 报表). Summing the postings'
term-term products gives, for each term, the terms it keeps company with; a posting is then
smoothed with the associates of its strongest terms, as in a translation language model
(Berger and Lafferty, 1999) or cluster-based document smoothing (Liu and Croft, 2004). Only
postings are expanded: expanding both sides blurs the match twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

# Cells per padded block when picking each row's largest entries: bounds the temporary array.
_BLOCK_CELLS = 1 << 22


@dataclass(frozen=True, slots=True)
class ExpansionParams:
    """How postings are expanded; weight 0 turns expansion off."""

    weight: float = 0.5
    sources: int = 20
    associations: int = 20
    terms: int = 30


def keep_top_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """The k largest entries of each row (all of a row that has no more than k)."""
    result = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    result.sum_duplicates()
    counts = np.diff(result.indptr)
    long_rows = np.flatnonzero(counts > k)
    if long_rows.size == 0:
        return result
    if k <= 0:
        return sp.csr_matrix(result.shape, dtype=np.float32)
    keep = np.ones(result.nnz, dtype=bool)
    # Rows grouped by length up to the next power of two, so padding at most doubles a block.
    buckets = np.ceil(np.log2(counts[long_rows])).astype(np.int64)
    for bucket in np.unique(buckets):
        rows_in_bucket = long_rows[buckets == bucket]
        width = int(counts[rows_in_bucket].max())
        step = max(1, _BLOCK_CELLS // width)
        for first in range(0, rows_in_bucket.size, step):
            rows = rows_in_bucket[first : first + step]
            _keep_top_in_block(result, counts, rows, width, k, keep)
    indptr = np.concatenate([[0], np.cumsum(np.minimum(counts, k))])
    return sp.csr_matrix(
        (result.data[keep], result.indices[keep], indptr), shape=result.shape, dtype=np.float32
    )


def _keep_top_in_block(
    matrix: sp.csr_matrix,
    counts: np.ndarray[Any, Any],
    rows: np.ndarray[Any, Any],
    width: int,
    k: int,
    keep: np.ndarray[Any, np.dtype[np.bool_]],
) -> None:
    """Mark in `keep` only the k largest entries of each of `rows` (all longer than k)."""
    offsets = np.arange(width)
    valid = offsets[None, :] < counts[rows][:, None]
    positions = np.where(valid, matrix.indptr[rows][:, None] + offsets[None, :], 0)
    values = np.where(valid, matrix.data[positions], -np.inf)
    best = np.argpartition(-values, k - 1, axis=1)[:, :k]
    keep[positions[valid]] = False
    keep[np.take_along_axis(positions, best, axis=1).ravel()] = True


def fit_associations(vectors: sp.csr_matrix, params: ExpansionParams) -> sp.csr_matrix:
    """Term × term associations: summed products of each document's strongest terms, a term's
    own pair left out, the strongest `associations` partners kept per term."""
    strongest = keep_top_per_row(vectors, params.sources)
    products = sp.csr_matrix(strongest.T @ strongest, dtype=np.float32)
    products.setdiag(0)
    products.eliminate_zeros()
    return keep_top_per_row(products, params.associations)


def expand_vectors(
    vectors: sp.csr_matrix, associations: sp.csr_matrix, params: ExpansionParams
) -> sp.csr_matrix:
    """Each l2-normalised row mixed with the unit vector of its strongest terms' associates."""
    vectors = sp.csr_matrix(vectors, dtype=np.float32)
    if params.weight <= 0 or vectors.shape[0] == 0 or associations.nnz == 0:
        return vectors
    strongest = keep_top_per_row(vectors, params.sources)
    related = keep_top_per_row(sp.csr_matrix(strongest @ associations), params.terms)
    mixed: Any = (1 - params.weight) * vectors + params.weight * normalize(related)
    return sp.csr_matrix(normalize(mixed), dtype=np.float32)
