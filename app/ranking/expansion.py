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

# Cells per padded block when picking each row's largest entries: bounds the temporary array.
_BLOCK_CELLS = 1 << 22


@dataclass(frozen=True, slots=True)
class ExpansionParams:
    """How postings are expanded; weight 0 turns expansion off."""

    weight: float = 0.5
    sources: int = 10
    associations: int = 20
    terms: int = 30


def normalize_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Each row scaled to unit l2 norm (all-zero rows stay zero), as float32 CSR."""
    result = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    rows = np.repeat(np.arange(result.shape[0]), np.diff(result.indptr))
    norms = np.sqrt(np.bincount(rows, weights=result.data**2, minlength=result.shape[0]))
    result.data /= np.where(norms > 0, norms, 1)[rows].astype(np.float32)
    return result


def keep_top_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """The k largest entries of each row (all of a row that has no more than k; among equal
    values the first ones). Rows must not repeat a column, as after a product."""
    result = sp.csr_matrix(matrix, dtype=np.float32)
    counts = np.diff(result.indptr)
    long_rows = np.flatnonzero(counts > k)
    if long_rows.size == 0:
        return result.copy()
    if k <= 0:
        return sp.csr_matrix(result.shape, dtype=np.float32)
    threshold = np.full(result.shape[0], -np.inf, dtype=np.float32)
    # Each row's k-th largest value from a padded block per group of rows of similar length
    # (lengths up to the next power of two, so padding at most doubles a block).
    buckets = np.ceil(np.log2(counts[long_rows])).astype(np.int64)
    for bucket in np.unique(buckets):
        rows_in_bucket = long_rows[buckets == bucket]
        width = int(counts[rows_in_bucket].max())
        step = max(1, _BLOCK_CELLS // width)
        for first in range(0, rows_in_bucket.size, step):
            rows = rows_in_bucket[first : first + step]
            threshold[rows] = _kth_largest(result, rows, width, k)
    row_of = np.repeat(np.arange(result.shape[0]), counts)
    above = result.data > threshold[row_of]
    # Equal to the k-th value: kept in order while the row still has room.
    equal = result.data == threshold[row_of]
    room = k - np.bincount(row_of[above], minlength=result.shape[0])
    equal_rank = np.cumsum(equal) - 1
    first_equal = np.concatenate(
        [[0], np.cumsum(np.bincount(row_of[equal], minlength=result.shape[0]))]
    )
    keep = above | (equal & (equal_rank - first_equal[row_of] < room[row_of]))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of[keep], minlength=result.shape[0]))])
    return sp.csr_matrix(
        (result.data[keep], result.indices[keep], indptr), shape=result.shape, dtype=np.float32
    )


def _kth_largest(
    matrix: sp.csr_matrix, rows: np.ndarray[Any, Any], width: int, k: int
) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The k-th largest value of each of `rows` (all longer than k)."""
    starts, lengths = matrix.indptr[rows], np.diff(matrix.indptr)[rows]
    block = np.full((rows.size, width), -np.inf, dtype=np.float32)
    local = np.repeat(np.arange(rows.size), lengths)
    offsets = np.arange(local.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    block[local, offsets] = matrix.data[np.repeat(starts, lengths) + offsets]
    return np.partition(block, width - k, axis=1)[:, width - k]


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
    mixed: Any = (1 - params.weight) * vectors + params.weight * normalize_rows(related)
    return normalize_rows(mixed)
