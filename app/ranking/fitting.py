"""The fitted half of a ranker: a text model fitted over both sides and one index per side,
to which documents are added, replaced and removed with the fitted vocabulary (no refit)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Self

import scipy.sparse as sp

from app.ranking.documents import GraduateDocument, JobDocument
from app.ranking.encoder import FeatureEncoder
from app.ranking.features import Direction, GraduateFeatures, JobFeatures
from app.ranking.index import SparseIndex
from app.ranking.majors import MajorTable
from app.ranking.params import RankerParams, text_model_options
from app.ranking.text import Tokenizer
from app.ranking.vectorize import TextModel


class FittedRanker:
    """Fit on jobs and graduates; documents can be added, replaced and removed afterwards with
    the fitted vocabulary. Ranking them is app.ranking.ranker.Ranker's part."""

    def __init__(
        self,
        params: RankerParams | None = None,
        *,
        tokenizer: Tokenizer | None = None,
        majors: MajorTable | None = None,
    ) -> None:
        self.params = params
        self.tokenizer = tokenizer
        self.majors = majors

    @property
    def params_(self) -> RankerParams:
        """Parameters in use."""
        return self.params if self.params is not None else RankerParams()

    def _text_model(self) -> TextModel:
        params = self.params_
        return TextModel(
            tokenizer=self.tokenizer or Tokenizer(backend=params.backend),
            **text_model_options(params),
        )

    def fit(self, jobs: Sequence[JobDocument], graduates: Sequence[GraduateDocument] = ()) -> Self:
        """Fit vocabulary and idf over both sides and index every document."""
        model = self._text_model()
        job_tokens = [model.job_tokens(job) for job in jobs]
        graduate_tokens = [model.graduate_tokens(graduate) for graduate in graduates]
        vectors = model.fit_transform_tokens(job_tokens + graduate_tokens)
        self._start(model)
        self.data_hash_ = hash_tokens(
            [(job.id, tokens) for job, tokens in zip(jobs, job_tokens, strict=True)],
            [(g.id, tokens) for g, tokens in zip(graduates, graduate_tokens, strict=True)],
        )
        self._upsert_jobs(jobs, vectors[: len(jobs)])
        self._upsert_graduates(graduates, vectors[len(jobs) :])
        self.jobs_index_.compact()
        self.graduates_index_.compact()
        return self

    def _start(self, model: TextModel) -> None:
        """Set up empty indexes around a fitted text model."""
        self.text_model_ = model
        majors = self.majors or MajorTable(synonyms=model.tokenizer_.synonym_map())
        self.encoder_ = FeatureEncoder(majors=majors).fit()
        n_features = len(model.terms_)
        self.jobs_index_: SparseIndex[JobFeatures] = SparseIndex(
            n_features=n_features,
            concat=JobFeatures.concat,
            empty_features=self.encoder_.encode_jobs([]),
        )
        self.graduates_index_: SparseIndex[GraduateFeatures] = SparseIndex(
            n_features=n_features,
            concat=GraduateFeatures.concat,
            empty_features=self.encoder_.encode_graduates([]),
        )
        self.jobs_: dict[int, JobDocument] = {}
        self.graduates_: dict[int, GraduateDocument] = {}
        self._related: tuple[int, Any] | None = None
        if not hasattr(self, "data_hash_"):
            self.data_hash_ = ""
        if not hasattr(self, "version_"):
            self.version_ = ""

    def refit(self) -> Self:
        """A new ranker (a new version) fitted on the documents currently indexed."""
        return type(self)(self.params, tokenizer=self.tokenizer, majors=self.majors).fit(
            list(self.jobs_.values()), list(self.graduates_.values())
        )

    # --- writes -------------------------------------------------------------------------

    def upsert_jobs(self, jobs: Sequence[JobDocument]) -> None:
        """Add or replace jobs (vectors from the fitted vocabulary)."""
        self._upsert_jobs(jobs, self.text_model_.transform_jobs(jobs))

    def upsert_graduates(self, graduates: Sequence[GraduateDocument]) -> None:
        """Add or replace graduates (vectors from the fitted vocabulary)."""
        self._upsert_graduates(graduates, self.text_model_.transform_graduates(graduates))

    def remove_jobs(self, ids: Sequence[int]) -> int:
        """Remove jobs by id; returns how many were indexed."""
        for doc_id in ids:
            self.jobs_.pop(doc_id, None)
        return self.jobs_index_.remove(ids)

    def remove_graduates(self, ids: Sequence[int]) -> int:
        """Remove graduates by id; returns how many were indexed."""
        for doc_id in ids:
            self.graduates_.pop(doc_id, None)
        return self.graduates_index_.remove(ids)

    def _upsert_jobs(self, jobs: Sequence[JobDocument], vectors: sp.csr_matrix) -> None:
        self.jobs_index_.upsert([j.id for j in jobs], vectors, self.encoder_.encode_jobs(jobs))
        self.jobs_.update((j.id, j) for j in jobs)

    def _upsert_graduates(
        self, graduates: Sequence[GraduateDocument], vectors: sp.csr_matrix
    ) -> None:
        features = self.encoder_.encode_graduates(graduates)
        self.graduates_index_.upsert([g.id for g in graduates], vectors, features)
        self.graduates_.update((g.id, g) for g in graduates)

    def _index(self, direction: Direction) -> SparseIndex[Any]:
        return self.jobs_index_ if direction == "jobs" else self.graduates_index_

    def _related_matrix(self) -> Any:
        size = len(self.encoder_.class_codes_.codes)
        if self._related is None or self._related[0] != size:
            self._related = (size, self.encoder_.related_matrix())
        return self._related[1]

    def _graduate(self, graduate: int | GraduateDocument) -> GraduateDocument:
        return self.graduates_[graduate] if isinstance(graduate, int) else graduate

    def _job(self, job: int | JobDocument) -> JobDocument:
        return self.jobs_[job] if isinstance(job, int) else job


def hash_tokens(*sides: Sequence[tuple[int, list[str]]]) -> str:
    """A content hash of the fitted documents (by id and weighted tokens)."""
    digest = hashlib.sha256()
    for number, side in enumerate(sides):
        for doc_id, tokens in sorted(side, key=lambda item: item[0]):
            digest.update(f"{number}\t{doc_id}\t{' '.join(tokens)}\n".encode())
    return digest.hexdigest()
