"""The queries of a batch, given as indexed ids or as documents: their vectors and feature
rows, stored ones for indexed ids and fresh ones for documents."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg  # noqa: F401  (sp.linalg.norm)

from app.ranking.arrays import Float32Array as FloatArray
from app.ranking.index import SparseIndex, topk_rows


def query_features(
    refs: Sequence[Any], docs: Sequence[Any], index: SparseIndex[Any], encode: Callable[..., Any]
) -> Any:
    """Feature rows of the queries: the indexed ones' own rows when all are indexed ids."""
    rows = [index.row_of(ref) if isinstance(ref, int) else None for ref in refs]
    if rows and all(row is not None for row in rows):
        return index.features.take(np.array(rows, dtype=np.intp))
    return encode(docs)


def query_vectors(
    refs: Sequence[Any],
    docs: Sequence[Any],
    index: SparseIndex[Any],
    transform: Callable[[Sequence[Any]], sp.csr_matrix],
    n_terms: int,
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
        return sp.csr_matrix((0, n_terms), dtype=np.float32)
    if len(rows) == 1:
        return rows[0]
    return sp.vstack(rows, format="csr", dtype=np.float32)


def expand_queries(
    index: SparseIndex[Any], queries: sp.csr_matrix, text: FloatArray, docs: int, weight: float
) -> sp.csr_matrix:
    """Pseudo-relevance feedback: add `weight` × the centroid of each query's `docs` best text
    matches (`text` the queries' cosines with every row).

    Short profiles share few words with the postings of their kind; the best matches carry
    the vocabulary of that kind of job (titles, tools), which the second pass can use.
    """
    expanded = []
    for row in range(queries.shape[0]):
        scores = np.where(index.alive, text[row], -np.inf).astype(np.float32)
        top = topk_rows(scores, index.ids, docs)
        top = top[scores[top] > 0]
        query = queries[row]
        if top.shape[0]:
            centroid = sp.vstack([index.vector(int(r)) for r in top], format="csr")
            centroid = sp.csr_matrix(centroid.mean(axis=0), dtype=np.float32)
            query = query + np.float32(weight) * centroid
            query = sp.csr_matrix(query / np.float32(sp.linalg.norm(query)), dtype=np.float32)
        expanded.append(query)
    return sp.vstack(expanded, format="csr", dtype=np.float32)
