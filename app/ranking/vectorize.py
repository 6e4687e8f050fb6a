"""Field tokens → TF-IDF vectors (float32 CSR, l2-normalised so a dot product is the cosine),
fitted once over both sides.

Each field is vectorised and l2-normalised on its own, then the fields are summed by weight and
the sum normalised again (field-level length normalisation, as in BM25F): a long description
cannot drown the few words of a title or a skill list, whatever their lengths. Job vectors are
then weighted by coherence (see app.ranking.coherence).

The weights are scikit-learn's TfidfVectorizer's (smooth idf, optional sublinear tf, max_df and
min_df on document frequency), computed with numpy over all tokens of a chunk at once: its
per-token Python loop was most of the time of a fit on 100k postings.

A fit takes its token lists chunk by chunk: each chunk is counted on provisional term codes (in
order of first sight) as it comes, the vocabulary is sorted once all are in, and the vectors are
then made a chunk at a time. Every step after the counting is row by row (or, for the term
associations, sums over the rows in their order), so the vectors are the same to the bit
whatever the chunks; only one chunk's tokens and temporaries are alive at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain
from numbers import Integral
from typing import Any, Literal, NamedTuple

import numpy as np
import scipy.sparse as sp

from app.ranking.arrays import BoolArray
from app.ranking.arrays import Int64Array as IntArray
from app.ranking.coherence import (
    CoherenceParams,
    fit_associations,
    keep_top_per_row,
    normalize_rows,
    weigh_by_coherence,
)
from app.ranking.documents import (
    GraduateDocument,
    JobDocument,
    TextFields,
    graduate_field_texts,
    job_field_texts,
)
from app.ranking.fields import (
    CHAR_CHANNEL,
    GRADUATE_SIDE,
    JOB_SIDE,
    NGRAM_FIELD_SUFFIX,
    NGRAM_PREFIX,
    NGRAM_RANGE,
    count_fields,
    field_weights,
    field_weights_of,
    job_rows,
    mark_fields,
    marker_codes,
    term_codes,
)
from app.ranking.row_blocks import RowBlocks, batches
from app.ranking.text import Tokenizer

# Below this many documents max_df and min_df are not applied (see fit_tokens).
MIN_DOCUMENTS_FOR_MAX_DF = 200
# Stands in for the vocabulary of a corpus with no words at all, so fit never fails.
EMPTY_CORPUS_TERM = "<empty>"
# BM25's k1 as Lucene and bm25s ship it (not tuned here).
BM25_K1 = 1.2
# Documents per chunk of a fit. At 200k postings 2,048 and 8,192 took the same CPU time (20.1
# and 20.6 s) and peak (523 and 546 MB); 32,768 took 22.5 s and 682 MB (one run each, load 10).
FIT_CHUNK = 8192

TermWeighting = Literal["tfidf", "bm25"]


class TextModel:
    """Fitted vocabulary, idf and term associations over jobs and graduates; turns either side
    into vectors."""

    def __init__(
        self,
        *,
        tokenizer: Tokenizer | None = None,
        fields: TextFields | None = None,
        max_df: float | int = 1.0,
        min_df: float | int = 1,
        sublinear_tf: bool = False,
        coherence: CoherenceParams | None = None,
        normalize_fields: bool = True,
        char_channel: bool = False,
        term_weighting: TermWeighting = "tfidf",
    ) -> None:
        self.tokenizer = tokenizer
        self.fields = fields
        self.max_df = max_df
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf
        self.coherence = coherence
        self.normalize_fields = normalize_fields
        self.char_channel = char_channel
        self.term_weighting = term_weighting

    @property
    def tokenizer_(self) -> Tokenizer:
        """The tokenizer in use (a default one when none was given)."""
        if self.tokenizer is None:
            self.tokenizer = Tokenizer()
        return self.tokenizer

    @property
    def fields_(self) -> TextFields:
        """Field weights in use."""
        return self.fields if self.fields is not None else TextFields()

    @property
    def coherence_(self) -> CoherenceParams:
        """Coherence weighting in use."""
        return self.coherence if self.coherence is not None else CoherenceParams()

    def job_field_tokens(self, job: JobDocument) -> dict[str, list[str]]:
        """Tokens of each job field (prefixed character n-grams for the n-gram fields)."""
        return {name: self._field_tokens(name, text) for name, text in job_field_texts(job).items()}

    def graduate_field_tokens(self, graduate: GraduateDocument) -> dict[str, list[str]]:
        """Tokens of each graduate field (prefixed character n-grams for the n-gram fields)."""
        texts = graduate_field_texts(graduate)
        return {name: self._field_tokens(name, text) for name, text in texts.items()}

    def _field_tokens(self, name: str, text: str) -> list[str]:
        if not name.endswith(NGRAM_FIELD_SUFFIX):
            return self.tokenizer_.tokenize(text)
        return [NGRAM_PREFIX + gram for gram in self.tokenizer_.ngrams(text, *NGRAM_RANGE)]

    def job_tokens(self, job: JobDocument) -> list[str]:
        """Marked token list of a job (see mark_fields)."""
        return self._marked(JOB_SIDE, job_field_texts(job), field_weights_of(self.fields_.job))

    def graduate_tokens(self, graduate: GraduateDocument) -> list[str]:
        """Marked token list of a graduate (see mark_fields)."""
        weights = field_weights_of(self.fields_.graduate)
        return self._marked(GRADUATE_SIDE, graduate_field_texts(graduate), weights)

    def _marked(self, side: str, texts: dict[str, str], weights: Mapping[str, float]) -> list[str]:
        """Only the weighted fields are tokenised."""
        tokens = {
            name: self._field_tokens(name, text)
            for name, text in texts.items()
            if weights.get(name, 0) > 0
        }
        marked = mark_fields(side, tokens, weights)
        if self.char_channel:
            words = [
                text
                for name, text in texts.items()
                if weights.get(name, 0) > 0 and not name.endswith(NGRAM_FIELD_SUFFIX)
            ]
            grams = self._field_tokens(CHAR_CHANNEL, "\n".join(words))
            marked += mark_fields(side, {CHAR_CHANNEL: grams}, {CHAR_CHANNEL: 1.0})
        return marked

    def fit(
        self, jobs: Iterable[JobDocument], graduates: Iterable[GraduateDocument] = ()
    ) -> TextModel:
        """Learn vocabulary, idf and term associations from the documents of both sides (read
        once, a chunk at a time)."""
        job_chunks = (list(map(self.job_tokens, chunk)) for chunk in batches(jobs, FIT_CHUNK))
        graduate_chunks = (
            list(map(self.graduate_tokens, chunk)) for chunk in batches(graduates, FIT_CHUNK)
        )
        self._fit_chunks(chain(job_chunks, graduate_chunks))
        return self

    def fit_tokens(self, token_lists: Sequence[list[str]]) -> TextModel:
        """Learn vocabulary and idf from marked (or plain) token lists, then term associations
        from the job lists."""
        self._fit_chunks(batches(token_lists, FIT_CHUNK))
        return self

    def fit_transform_tokens(self, token_lists: Sequence[list[str]]) -> sp.csr_matrix:
        """fit_tokens, returning what transform_tokens would give for the same lists."""
        blocks = self.fit_transform_chunks(batches(token_lists, FIT_CHUNK))
        if not blocks:
            return sp.csr_matrix((0, len(self.terms_)), dtype=np.float32)
        return _canonical(sp.vstack(blocks, format="csr", dtype=np.float32))

    def fit_transform_chunks(self, chunks: Iterable[Sequence[list[str]]]) -> list[sp.csr_matrix]:
        """Fit on token lists given chunk by chunk; their vectors (what transform_tokens would
        give), in order, in a few blocks of rows."""
        vectors, is_job = self._fit_chunks(chunks)
        weighted = RowBlocks()
        for block, jobs in zip(vectors.take_blocks(), is_job, strict=True):
            weighted.append(_canonical(self._weigh_jobs(block, jobs)))
        return weighted.take_slabs()

    def _fit_chunks(
        self, chunks: Iterable[Sequence[list[str]]]
    ) -> tuple[RowBlocks, list[BoolArray]]:
        """Fit; each chunk's vectors before coherence weighting and which of its lists are jobs."""
        weights = field_weights(self.fields_)
        counter = _ChunkCounter(weights)
        for token_lists in chunks:
            counter.add(token_lists)
        order = sorted(range(len(counter.terms)), key=counter.terms.__getitem__)
        terms = [counter.terms[code] for code in order]
        frequency = counter.frequency[np.asarray(order, dtype=np.intp)]
        n_lists = n_documents = counter.n_lists
        if not terms:
            terms, n_documents = [EMPTY_CORPUS_TERM], n_documents + 1
            frequency = np.zeros(1, dtype=np.int64)
        if not np.any(frequency):
            frequency[:] = 1  # only the stand-in term: as if it were in the extra document
        # A share-of-documents cut-off means something only in a real corpus: a new agency
        # with a handful of similar postings would lose every shared word (or all words).
        small = n_lists < MIN_DOCUMENTS_FOR_MAX_DF
        kept = _within_df(
            frequency,
            n_documents,
            max_df=1.0 if small else self.max_df,
            min_df=1 if small else self.min_df,
        )
        kept_terms = [term for term, keep in zip(terms, kept.tolist(), strict=True) if keep]
        idf = _idf(frequency[kept], n_documents, self.term_weighting)
        self._set_vocabulary(kept_terms, idf)
        self.n_fit_documents_ = n_documents
        # Provisional code → column of the fitted vocabulary (-1: cut by max_df or min_df).
        columns = np.full(len(counter.terms), -1, dtype=np.int64)
        if counter.terms:
            columns[np.asarray(order, dtype=np.intp)[kept]] = np.arange(len(kept_terms))
        blocks = RowBlocks()
        is_job: list[BoolArray] = []
        strongest = RowBlocks()
        any_job = False
        coherence = self.coherence_
        for counts, pieces in counter.take_chunks():
            vectors = self._vectors(
                _renumbered(counts, columns, len(kept_terms)),
                pieces.owners,
                pieces.piece_keys,
                pieces.n_lists,
            )
            blocks.append(vectors)
            is_job.append(pieces.is_job)
            if coherence.weight > 0 and pieces.is_job.any():
                words, _grams = _split_columns(vectors[pieces.is_job], self.ngram_columns_)
                # Row by row, as fit_associations would pick them: it keeps them as they are.
                strongest.append(keep_top_per_row(words, coherence.context))
                any_job = True
        if any_job:
            self.associations_ = fit_associations(
                sp.vstack(strongest.take_slabs(), format="csr", dtype=np.float32), coherence
            )
        return blocks, is_job

    @classmethod
    def from_vocabulary(
        cls,
        terms: Sequence[str],
        idf: np.ndarray[Any, Any],
        associations: sp.spmatrix | None = None,
        **params: Any,
    ) -> TextModel:
        """Rebuild a fitted model from saved terms, idf and term associations."""
        model = cls(**params)
        model._set_vocabulary(list(terms), np.asarray(idf, dtype=np.float64))
        if associations is not None:
            model.associations_ = sp.csr_matrix(associations, dtype=np.float32)
        model.n_fit_documents_ = 0
        return model

    def _set_vocabulary(self, terms: list[str], idf: np.ndarray[Any, Any]) -> None:
        self.terms_: np.ndarray[Any, np.dtype[np.object_]] = np.asarray(terms, dtype=object)
        self.vocabulary_ = {term: column for column, term in enumerate(terms)}
        self.ngram_columns_ = np.fromiter(
            (term.startswith(NGRAM_PREFIX) for term in terms), dtype=bool, count=len(terms)
        )
        self.idf_: np.ndarray[Any, np.dtype[np.float64]] = idf
        self.field_weights_ = field_weights(self.fields_)
        # Terms and field markers in one lookup, so a transform maps every token in one pass.
        self.codes_ = term_codes(terms, self.field_weights_)
        self.associations_ = sp.csr_matrix((len(terms), len(terms)), dtype=np.float32)

    def transform_tokens(self, token_lists: Sequence[list[str]]) -> sp.csr_matrix:
        """Vectors of marked (or plain) token lists with the fitted vocabulary (unknown terms
        drop); lists with job fields are weighted by coherence."""
        flat = list(chain.from_iterable(token_lists))
        counts, owners, piece_keys = count_fields(token_lists, flat, self.codes_, len(self.terms_))
        vectors = self._vectors(counts, owners, piece_keys, len(token_lists))
        return _canonical(self._weigh_jobs(vectors, job_rows(token_lists)))

    def _vectors(
        self,
        counts: sp.csr_matrix,
        owners: np.ndarray[Any, np.dtype[np.signedinteger[Any]]],
        piece_keys: np.ndarray[Any, np.dtype[np.signedinteger[Any]]],
        n_rows: int,
    ) -> sp.csr_matrix:
        """Weighted sum of each list's l2-normalised field vectors, l2-normalised."""
        counts = sp.csr_matrix(counts, dtype=np.float32, copy=True)
        if self.term_weighting == "bm25":
            # BM25's saturation of term frequency; the length part is left to the l2 norm.
            counts.data = (
                counts.data * np.float32(BM25_K1 + 1) / (counts.data + np.float32(BM25_K1))
            )
        elif self.sublinear_tf:
            np.log(counts.data, out=counts.data)
            counts.data += 1
        counts.data *= self.idf_.astype(np.float32)[counts.indices]
        weights = np.asarray(list(self.field_weights_.values()), dtype=np.float32)
        combine = sp.csr_matrix(
            (weights[piece_keys], (owners, np.arange(owners.size))),
            shape=(n_rows, owners.size),
        )
        combine.eliminate_zeros()
        combined = combine @ (normalize_rows(counts) if self.normalize_fields else counts)
        if not self.char_channel:
            return normalize_rows(combined)
        # Words and character n-grams as two equal channels: a cosine is then the mean of
        # the word cosine and the character cosine.
        words, grams = _split_columns(combined, self.ngram_columns_)
        return normalize_rows(normalize_rows(words) + normalize_rows(grams))

    def _weigh_jobs(self, vectors: sp.csr_matrix, is_job: np.ndarray[Any, Any]) -> sp.csr_matrix:
        """The job rows weighted by coherence, the others as they are."""
        jobs = np.flatnonzero(is_job)
        if jobs.size == 0 or self.associations_.nnz == 0 or self.coherence_.weight <= 0:
            return vectors
        weighted = self._weigh_words(vectors[jobs])
        if jobs.size == vectors.shape[0]:
            return weighted
        others = np.flatnonzero(~is_job)
        stacked = sp.vstack([vectors[others], weighted], format="csr", dtype=np.float32)
        order = np.empty(vectors.shape[0], dtype=np.intp)
        order[np.concatenate([others, jobs])] = np.arange(vectors.shape[0])
        return sp.csr_matrix(stacked[order], dtype=np.float32)

    def _weigh_words(self, vectors: sp.csr_matrix) -> sp.csr_matrix:
        """Coherence weighting of the word columns, their share of each row's norm kept; the
        n-gram columns, a separate channel, stay as they are."""
        words, grams = _split_columns(vectors, self.ngram_columns_)
        norms = np.sqrt(np.asarray(words.multiply(words).sum(axis=1), dtype=np.float32))
        weighted = weigh_by_coherence(words, self.associations_, self.coherence_)
        return sp.csr_matrix(weighted.multiply(norms) + grams, dtype=np.float32)

    def transform_jobs(self, jobs: Sequence[JobDocument]) -> sp.csr_matrix:
        """Vectors of jobs."""
        return self.transform_tokens([self.job_tokens(job) for job in jobs])

    def transform_graduates(self, graduates: Sequence[GraduateDocument]) -> sp.csr_matrix:
        """Vectors of graduates."""
        return self.transform_tokens([self.graduate_tokens(graduate) for graduate in graduates])

    def term_index(self) -> dict[str, int]:
        """Term → column."""
        return self.vocabulary_


class _ChunkPieces(NamedTuple):
    """Of one chunk's field pieces (see count_fields): the list of each, the position of its
    field key in field_weights, and of the chunk's lists, how many and which are jobs."""

    owners: np.ndarray[Any, np.dtype[np.int32]]
    piece_keys: np.ndarray[Any, np.dtype[np.int32]]
    n_lists: int
    is_job: BoolArray


class _ChunkCounter:
    """Field counts and document frequency of token lists fed a chunk at a time, on provisional
    term codes (in order of first sight) until every chunk is in."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights = weights
        self.terms: list[str] = []
        self.markers = set(marker_codes(weights, 0))
        self.codes: dict[str, int] = {}
        self.frequency = np.zeros(0, dtype=np.int64)
        self.n_lists = 0
        self._counts = RowBlocks()
        self._pieces: list[_ChunkPieces] = []

    def add(self, token_lists: Sequence[list[str]]) -> None:
        """Count one chunk."""
        flat = list(chain.from_iterable(token_lists))
        for term in set(flat).difference(self.codes).difference(self.markers):
            self.codes[term] = len(self.terms)
            self.terms.append(term)
        n_terms = len(self.terms)
        # Markers are coded past the last term (count_fields' convention): renewed as it grows.
        self.codes.update(marker_codes(self.weights, n_terms))
        counts, owners, piece_keys = count_fields(token_lists, flat, self.codes, n_terms)
        for marker in self.markers:
            del self.codes[marker]
        frequency = _document_frequency(counts, owners, len(token_lists), n_terms)
        frequency[: self.frequency.size] += self.frequency
        self.frequency = frequency
        self.n_lists += len(token_lists)
        self._counts.append(counts)
        self._pieces.append(
            _ChunkPieces(
                owners.astype(np.int32),
                piece_keys.astype(np.int32),
                len(token_lists),
                job_rows(token_lists),
            )
        )

    def take_chunks(self) -> Iterator[tuple[sp.csr_matrix, _ChunkPieces]]:
        """Each chunk's counts (on provisional codes) and pieces, in order, let go once read."""
        pieces, self._pieces = self._pieces, []
        pieces.reverse()
        for counts in self._counts.take_blocks():
            yield counts, pieces.pop()


def _renumbered(counts: sp.csr_matrix, columns: IntArray, n_columns: int) -> sp.csr_matrix:
    """Counts on provisional codes → on the fitted columns (`columns[code]`, -1 dropped), each
    row's columns in order: what counting on the fitted vocabulary would have given."""
    new = columns[counts.indices]
    keep = new >= 0
    indptr = counts.indptr
    if not keep.all():
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        indptr = np.concatenate(
            [[0], np.cumsum(np.bincount(rows[keep], minlength=counts.shape[0]))]
        )
    renumbered = sp.csr_matrix(
        (counts.data[keep], new[keep], indptr), shape=(counts.shape[0], n_columns), dtype=np.float32
    )
    renumbered.sort_indices()
    return renumbered


def _canonical(vectors: sp.csr_matrix) -> sp.csr_matrix:
    """Columns in order in every row: a dot product then adds in one order whichever way the
    vector was made, so a loaded model scores to the bit like the fitted one."""
    vectors.sort_indices()
    return vectors


def _split_columns(
    matrix: sp.csr_matrix, columns: np.ndarray[Any, np.dtype[np.bool_]]
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The matrix outside `columns` and inside them (each with the other's entries dropped)."""
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    inside = columns[matrix.indices]
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    parts = []
    for keep in (~inside, inside):
        parts.append(
            sp.csr_matrix(
                (matrix.data[keep], (rows[keep], matrix.indices[keep])),
                shape=matrix.shape,
                dtype=np.float32,
            )
        )
    return parts[0], parts[1]


def _document_frequency(
    counts: sp.csr_matrix, owners: IntArray, n_documents: int, n_terms: int
) -> IntArray:
    """How many lists hold each term in any of their fields."""
    pieces_of = sp.csr_matrix(
        (np.ones(owners.size, dtype=np.float32), (owners, np.arange(owners.size))),
        shape=(n_documents, owners.size),
    )
    present = sp.csr_matrix(pieces_of @ counts)
    return np.bincount(present.indices, minlength=n_terms).astype(np.int64)


def _idf(frequency: IntArray, n_documents: int, weighting: TermWeighting) -> Any:
    """TfidfVectorizer's smooth idf, or BM25's (Lucene's form, never negative)."""
    if weighting == "bm25":
        return np.log1p((n_documents - frequency + 0.5) / (frequency + 0.5))
    return np.log((1 + n_documents) / (1 + frequency)) + 1


def _within_df(
    frequency: IntArray, n_documents: int, *, max_df: float | int, min_df: float | int
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Terms kept by max_df and min_df, read as TfidfVectorizer reads them (int: a count of
    documents, float: a share)."""
    most = max_df if isinstance(max_df, Integral) else max_df * n_documents
    least = min_df if isinstance(min_df, Integral) else min_df * n_documents
    if most < least:
        raise ValueError("max_df corresponds to < documents than min_df")
    kept = (frequency <= most) & (frequency >= least)
    if not kept.any():
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    return kept
