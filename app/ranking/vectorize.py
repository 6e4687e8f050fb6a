"""Weighted field tokens → TF-IDF vectors (float32 CSR, l2-normalized so a dot product is the
cosine), fitted once over both sides with scikit-learn's TfidfVectorizer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from app.ranking.documents import (
    GraduateDocument,
    JobDocument,
    TextFields,
    graduate_field_texts,
    job_field_texts,
)
from app.ranking.text import Tokenizer


# Below this many documents max_df and min_df are not applied (see fit_tokens).
MIN_DOCUMENTS_FOR_MAX_DF = 200
# Stands in for the vocabulary of a corpus with no words at all, so fit never fails.
EMPTY_CORPUS_TERM = "<empty>"


def identity_analyzer(tokens: list[str]) -> list[str]:
    """Analyzer for TfidfVectorizer when documents are already token lists."""
    return tokens


def weighted_tokens(field_tokens: dict[str, list[str]], weights: dict[str, int]) -> list[str]:
    """Concatenate each field's tokens, repeated by its integer weight."""
    out: list[str] = []
    for name, tokens in field_tokens.items():
        out.extend(tokens * weights.get(name, 0))
    return out


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
    """Fitted vocabulary and idf over jobs and graduates; turns either side into vectors."""

    def __init__(
        self,
        *,
        tokenizer: Tokenizer | None = None,
        fields: TextFields | None = None,
        max_df: float | int = 0.3,
        min_df: float | int = 1,
        sublinear_tf: bool = True,
    ) -> None:
        self.tokenizer = tokenizer
        self.fields = fields
        self.max_df = max_df
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf

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

    def job_field_tokens(self, job: JobDocument) -> dict[str, list[str]]:
        """Tokens of each job field."""
        tokenize = self.tokenizer_.tokenize
        return {name: tokenize(text) for name, text in job_field_texts(job).items()}

    def graduate_field_tokens(self, graduate: GraduateDocument) -> dict[str, list[str]]:
        """Tokens of each graduate field."""
        tokenize = self.tokenizer_.tokenize
        return {name: tokenize(text) for name, text in graduate_field_texts(graduate).items()}

    def job_tokens(self, job: JobDocument) -> list[str]:
        """Weighted token list of a job."""
        weights = _weights(self.fields_.job)
        return weighted_tokens(self.job_field_tokens(job), weights)

    def graduate_tokens(self, graduate: GraduateDocument) -> list[str]:
        """Weighted token list of a graduate."""
        weights = _weights(self.fields_.graduate)
        return weighted_tokens(self.graduate_field_tokens(graduate), weights)

    def fit(
        self, jobs: Sequence[JobDocument], graduates: Sequence[GraduateDocument] = ()
    ) -> TextModel:
        """Learn vocabulary and idf from the documents of both sides."""
        token_lists = [self.job_tokens(job) for job in jobs]
        token_lists += [self.graduate_tokens(graduate) for graduate in graduates]
        return self.fit_tokens(token_lists)

    def fit_tokens(self, token_lists: Sequence[list[str]]) -> TextModel:
        """Learn vocabulary and idf from weighted token lists."""
        # A share-of-documents cut-off means something only in a real corpus: a new agency
        # with a handful of similar postings would lose every shared word (or all words).
        small = len(token_lists) < MIN_DOCUMENTS_FOR_MAX_DF
        vectorizer = make_vectorizer(
            max_df=1.0 if small else self.max_df,
            min_df=1 if small else self.min_df,
            sublinear_tf=self.sublinear_tf,
        )
        if not any(token_lists):
            token_lists = [*token_lists, [EMPTY_CORPUS_TERM]]
        vectorizer.fit(token_lists)
        self.vectorizer_ = vectorizer
        self.terms_: np.ndarray[Any, np.dtype[np.str_]] = vectorizer.get_feature_names_out()
        self.idf_: np.ndarray[Any, np.dtype[np.float64]] = np.asarray(vectorizer.idf_)
        self.n_fit_documents_ = len(token_lists)
        return self

    @classmethod
    def from_vocabulary(
        cls, terms: Sequence[str], idf: np.ndarray[Any, Any], **params: Any
    ) -> TextModel:
        """Rebuild a fitted model from saved terms and idf."""
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
        model.vectorizer_ = vectorizer
        model.terms_ = vectorizer.get_feature_names_out()
        model.idf_ = np.asarray(vectorizer.idf_)
        model.n_fit_documents_ = 0
        return model

    def transform_tokens(self, token_lists: Sequence[list[str]]) -> sp.csr_matrix:
        """Vectors of weighted token lists with the fitted vocabulary (unknown terms drop)."""
        if len(token_lists) == 0:
            return sp.csr_matrix((0, len(self.terms_)), dtype=np.float32)
        matrix = self.vectorizer_.transform(token_lists)
        return sp.csr_matrix(matrix, dtype=np.float32)

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


def _weights(fields: object) -> dict[str, int]:
    return {name: int(getattr(fields, name)) for name in fields.__dataclass_fields__}  # type: ignore[attr-defined]
