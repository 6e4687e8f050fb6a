"""Field tokens → TF-IDF vectors (float32 CSR, l2-normalised so a dot product is the cosine),
fitted once over both sides with scikit-learn's TfidfVectorizer.

Each field is vectorised and l2-normalised on its own, then the fields are summed by weight and
the sum normalised again (field-level length normalisation, as in BM25F): a long description
then cannot drown the few words of a title or a skill list, whatever their lengths. Job vectors
are further expanded with associated terms (see app.ranking.expansion).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from app.ranking.documents import (
    GraduateDocument,
    GraduateTextFields,
    JobDocument,
    JobTextFields,
    TextFields,
    graduate_field_texts,
    job_field_texts,
)
from app.ranking.expansion import ExpansionParams, expand_vectors, fit_associations
from app.ranking.text import Tokenizer

# Below this many documents max_df and min_df are not applied (see fit_tokens).
MIN_DOCUMENTS_FOR_MAX_DF = 200
# Stands in for the vocabulary of a corpus with no words at all, so fit never fails.
EMPTY_CORPUS_TERM = "<empty>"
# Opens a field in a token list: FIELD_MARK + "side.field:length". The tokenizer drops every
# token without a word character, so no real token can start with this control character.
FIELD_MARK = "\x1f"
JOB_SIDE = "job"
GRADUATE_SIDE = "graduate"


def identity_analyzer(tokens: list[str]) -> list[str]:
    """Analyzer for TfidfVectorizer when documents are already token lists."""
    return tokens


def mark_fields(
    side: str, field_tokens: Mapping[str, list[str]], weights: Mapping[str, float]
) -> list[str]:
    """One token list of a document: each weighted, non-empty field after its marker."""
    out: list[str] = []
    for name, tokens in field_tokens.items():
        if tokens and weights.get(name, 0) > 0:
            out.append(f"{FIELD_MARK}{side}.{name}:{len(tokens)}")
            out.extend(tokens)
    return out


def split_fields(tokens: Sequence[str]) -> Iterator[tuple[str, Sequence[str]]]:
    """(side.field, tokens) of each field of a marked list; an unmarked list is one field ""."""
    position, end = 0, len(tokens)
    while position < end:
        marker = tokens[position]
        if not marker.startswith(FIELD_MARK):
            yield "", tokens[position:]
            return
        key, _, length = marker[1:].rpartition(":")
        start = position + 1
        position = start + int(length)
        yield key, tokens[start:position]


def field_weights(fields: TextFields) -> dict[str, float]:
    """Weight of each marked field ("job.title", ...); an unmarked list counts as one field."""
    weights = {"": 1.0}
    for side, side_fields in ((JOB_SIDE, fields.job), (GRADUATE_SIDE, fields.graduate)):
        for name, weight in field_weights_of(side_fields).items():
            weights[f"{side}.{name}"] = weight
    return weights


def make_vectorizer(
    *, max_df: float | int, min_df: float | int, sublinear_tf: bool, vocabulary: Any = None
) -> TfidfVectorizer:
    """The TfidfVectorizer every text model uses, over ready-made token lists."""
    return TfidfVectorizer(
        analyzer=identity_analyzer,
        lowercase=False,
        sublinear_tf=sublinear_tf,
        norm="l2",
        smooth_idf=True,
        max_df=max_df,
        min_df=min_df,
        dtype=np.float32,
        vocabulary=vocabulary,
    )


class TextModel:
    """Fitted vocabulary, idf and term associations over jobs and graduates; turns either side
    into vectors."""

    def __init__(
        self,
        *,
        tokenizer: Tokenizer | None = None,
        fields: TextFields | None = None,
        max_df: float | int = 0.3,
        min_df: float | int = 1,
        sublinear_tf: bool = True,
        expansion: ExpansionParams | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.fields = fields
        self.max_df = max_df
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf
        self.expansion = expansion

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
    def expansion_(self) -> ExpansionParams:
        """Expansion settings in use."""
        return self.expansion if self.expansion is not None else ExpansionParams()

    def job_field_tokens(self, job: JobDocument) -> dict[str, list[str]]:
        """Tokens of each job field."""
        tokenize = self.tokenizer_.tokenize
        return {name: tokenize(text) for name, text in job_field_texts(job).items()}

    def graduate_field_tokens(self, graduate: GraduateDocument) -> dict[str, list[str]]:
        """Tokens of each graduate field."""
        tokenize = self.tokenizer_.tokenize
        return {name: tokenize(text) for name, text in graduate_field_texts(graduate).items()}

    def job_tokens(self, job: JobDocument) -> list[str]:
        """Marked token list of a job (see mark_fields)."""
        weights = field_weights_of(self.fields_.job)
        return mark_fields(JOB_SIDE, self.job_field_tokens(job), weights)

    def graduate_tokens(self, graduate: GraduateDocument) -> list[str]:
        """Marked token list of a graduate (see mark_fields)."""
        weights = field_weights_of(self.fields_.graduate)
        return mark_fields(GRADUATE_SIDE, self.graduate_field_tokens(graduate), weights)

    def fit(
        self, jobs: Sequence[JobDocument], graduates: Sequence[GraduateDocument] = ()
    ) -> TextModel:
        """Learn vocabulary, idf and term associations from the documents of both sides."""
        token_lists = [self.job_tokens(job) for job in jobs]
        token_lists += [self.graduate_tokens(graduate) for graduate in graduates]
        return self.fit_tokens(token_lists)

    def fit_tokens(self, token_lists: Sequence[list[str]]) -> TextModel:
        """Learn vocabulary and idf from marked (or plain) token lists, then term associations
        from the job lists."""
        # A share-of-documents cut-off means something only in a real corpus: a new agency
        # with a handful of similar postings would lose every shared word (or all words).
        small = len(token_lists) < MIN_DOCUMENTS_FOR_MAX_DF
        vectorizer = make_vectorizer(
            max_df=1.0 if small else self.max_df,
            min_df=1 if small else self.min_df,
            sublinear_tf=self.sublinear_tf,
        )
        documents = [_unmarked(tokens) for tokens in token_lists]
        if not any(documents):
            documents = [*documents, [EMPTY_CORPUS_TERM]]
        vectorizer.fit(documents)
        self._set_vocabulary(vectorizer)
        self.n_fit_documents_ = len(documents)
        jobs = [tokens for tokens in token_lists if _is_job(tokens)]
        if self.expansion_.weight > 0 and jobs:
            self.associations_ = fit_associations(self._field_vectors(jobs), self.expansion_)
        return self

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
        vectorizer = make_vectorizer(
            max_df=model.max_df,
            min_df=model.min_df,
            sublinear_tf=model.sublinear_tf,
            vocabulary={term: index for index, term in enumerate(terms)},
        )
        # max_df/min_df only act in fit; a fixed vocabulary skips them, as it should here.
        vectorizer.fit([list(terms)])
        vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
        model._set_vocabulary(vectorizer)
        if associations is not None:
            model.associations_ = sp.csr_matrix(associations, dtype=np.float32)
        model.n_fit_documents_ = 0
        return model

    def _set_vocabulary(self, vectorizer: TfidfVectorizer) -> None:
        self.vectorizer_ = vectorizer
        self.terms_: np.ndarray[Any, np.dtype[np.str_]] = vectorizer.get_feature_names_out()
        self.idf_: np.ndarray[Any, np.dtype[np.float64]] = np.asarray(vectorizer.idf_)
        self.field_weights_ = field_weights(self.fields_)
        n_terms = len(self.terms_)
        self.associations_ = sp.csr_matrix((n_terms, n_terms), dtype=np.float32)

    def transform_tokens(self, token_lists: Sequence[list[str]]) -> sp.csr_matrix:
        """Vectors of marked (or plain) token lists with the fitted vocabulary (unknown terms
        drop); lists with job fields are expanded."""
        vectors = self._field_vectors(token_lists)
        jobs = np.flatnonzero([_is_job(tokens) for tokens in token_lists])
        if jobs.size == 0 or self.associations_.nnz == 0 or self.expansion_.weight <= 0:
            return vectors
        expanded = expand_vectors(vectors[jobs], self.associations_, self.expansion_)
        if jobs.size == vectors.shape[0]:
            return expanded
        others = np.setdiff1d(np.arange(vectors.shape[0]), jobs)
        stacked = sp.vstack([vectors[others], expanded], format="csr", dtype=np.float32)
        order = np.empty(vectors.shape[0], dtype=np.intp)
        order[np.concatenate([others, jobs])] = np.arange(vectors.shape[0])
        return sp.csr_matrix(stacked[order], dtype=np.float32)

    def _field_vectors(self, token_lists: Sequence[list[str]]) -> sp.csr_matrix:
        """Weighted sum of each list's l2-normalised field vectors, l2-normalised."""
        n_terms = len(self.terms_)
        pieces: list[Sequence[str]] = []
        owners: list[int] = []
        weights: list[float] = []
        for row, tokens in enumerate(token_lists):
            for key, field in split_fields(tokens):
                weight = self.field_weights_.get(key, 0.0)
                if weight > 0 and field:
                    pieces.append(field)
                    owners.append(row)
                    weights.append(weight)
        if not pieces:
            return sp.csr_matrix((len(token_lists), n_terms), dtype=np.float32)
        field_vectors = self.vectorizer_.transform(pieces)
        combine = sp.csr_matrix(
            (np.asarray(weights, dtype=np.float32), (owners, np.arange(len(pieces)))),
            shape=(len(token_lists), len(pieces)),
        )
        return sp.csr_matrix(normalize(combine @ field_vectors), dtype=np.float32)

    def transform_jobs(self, jobs: Sequence[JobDocument]) -> sp.csr_matrix:
        """Vectors of jobs."""
        return self.transform_tokens([self.job_tokens(job) for job in jobs])

    def transform_graduates(self, graduates: Sequence[GraduateDocument]) -> sp.csr_matrix:
        """Vectors of graduates."""
        return self.transform_tokens([self.graduate_tokens(graduate) for graduate in graduates])

    def term_index(self) -> dict[str, int]:
        """Term → column."""
        vocabulary: dict[str, int] = self.vectorizer_.vocabulary_
        return vocabulary


def field_weights_of(side_fields: JobTextFields | GraduateTextFields) -> dict[str, float]:
    """Field name → weight for one side."""
    return {name: float(weight) for name, weight in asdict(side_fields).items()}


def _is_job(tokens: Sequence[str]) -> bool:
    return bool(tokens) and tokens[0].startswith(FIELD_MARK + JOB_SIDE + ".")


def _unmarked(tokens: Sequence[str]) -> list[str]:
    """The tokens of every field, markers left out (what document frequency counts)."""
    if not tokens or not tokens[0].startswith(FIELD_MARK):
        return list(tokens)
    out: list[str] = []
    for _key, field in split_fields(tokens):
        out.extend(field)
    return out
