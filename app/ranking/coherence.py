"""Coherence weighting: each posting's terms re-weighted by how strongly, across all postings,
they keep company with the posting's own strongest terms.

A posting's words that name its kind of work recur with its other key words in many postings
(会计 with 财务 and 报表); the incidental ones (a company's slogan, a tool every posting lists)
do not. Summing the postings' term-term products gives each term's associates; a posting's
vector is mixed with the same terms weighted by their association with its strongest terms,
a smoothing of the document model by term co-occurrence (Berger and Lafferty's translation
model, kept to the document's own terms). No term is added, so the index does not grow. Only
postings are weighted: doing it to profiles as well measured worse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

# Cells per padded block when picking each row's largest entries: bounds the temporary array.
_BLOCK_CELLS = 1 << 22


@dataclass(frozen=True, slots=True)
class CoherenceParams:
    """How postings are weighted: weight is the share of the coherence part (0 turns it off),
    context the strongest terms of a posting that judge the others, partners the associates
    kept per term."""

    weight: float = 0.0
    context: int = 10
    partners: int = 20


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
    n_rows = result.shape[0]
    threshold = np.full(n_rows, -np.inf, dtype=np.float32)
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
    row_of = np.repeat(np.arange(n_rows), counts)
    above = result.data > threshold[row_of]
    # Equal to the k-th value: kept in order while the row still has room.
    equal = result.data == threshold[row_of]
    room = k - np.bincount(row_of[above], minlength=n_rows)
    equal_before = np.concatenate([[0], np.cumsum(np.bincount(row_of[equal], minlength=n_rows))])
    equal_rank = np.cumsum(equal) - 1 - equal_before[row_of]
    keep = above | (equal & (equal_rank < room[row_of]))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of[keep], minlength=n_rows))])
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


def fit_associations(vectors: sp.csr_matrix, params: CoherenceParams) -> sp.csr_matrix:
    """Term × term associations: summed products of each document's strongest terms, a term's
    own pair left out, the strongest `partners` kept per term."""
    strongest = keep_top_per_row(vectors, params.context)
    products = sp.csr_matrix(strongest.T @ strongest, dtype=np.float32)
    products.setdiag(0)
    products.eliminate_zeros()
    return keep_top_per_row(products, params.partners)


def weigh_by_coherence(
    vectors: sp.csr_matrix, associations: sp.csr_matrix, params: CoherenceParams
) -> sp.csr_matrix:
    """Each l2-normalised row mixed with the unit vector of its own terms weighted by their
    association with its strongest terms."""
    vectors = sp.csr_matrix(vectors, dtype=np.float32)
    if params.weight <= 0 or vectors.shape[0] == 0 or associations.nnz == 0:
        return vectors
    strongest = keep_top_per_row(vectors, params.context)
    support = sp.csr_matrix(strongest @ associations)
    present = vectors.copy()
    present.data[:] = 1
    coherence = sp.csr_matrix(support.multiply(present), dtype=np.float32)
    coherence.eliminate_zeros()
    mixed: Any = (1 - params.weight) * vectors + params.weight * normalize_rows(coherence)
    return normalize_rows(mixed)
