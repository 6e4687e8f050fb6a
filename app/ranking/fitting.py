"""The fitted half of a ranker: a text model fitted over both sides and one index per side,
to which documents are added, replaced and removed with the fitted vocabulary (no refit)."""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from app.ranking.documents import GraduateDocument, JobDocument
from app.ranking.encoder import FeatureEncoder
from app.ranking.features import Direction, GraduateFeatures, JobFeatures
from app.ranking.index import SparseIndex
from app.ranking.majors import MajorTable
from app.ranking.params import RankerParams, text_model_options
from app.ranking.row_blocks import batches
from app.ranking.text import Tokenizer
from app.ranking.vectorize import FIT_CHUNK, TextModel


class FittedRanker:
    """Fit on jobs and graduates; documents can be added, replaced and removed afterwards with
    the fitted vocabulary. Ranking them is app.ranking.ranker.Ranker's part.

    keep_documents=False keeps only what ranking needs (vectors and encoded features), not the
    documents: a million postings' documents are about 1 GB. Refit needs the documents, so it
    is not available then; explanations read them from a DocumentSource passed with the query
    (a service's database); ranking is, by id or by document.
    """

    def __init__(
        self,
        params: RankerParams | None = None,
        *,
        tokenizer: Tokenizer | None = None,
        majors: MajorTable | None = None,
        keep_documents: bool = True,
    ) -> None:
        self.params = params
        self.tokenizer = tokenizer
        self.majors = majors
        self.keep_documents = keep_documents

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

    def fit(self, jobs: Iterable[JobDocument], graduates: Iterable[GraduateDocument] = ()) -> Self:
        """Fit vocabulary and idf over both sides and index every document.

        The documents are read once, a chunk at a time (any iterable: a generator need not hold
        them all); each chunk is tokenised, counted and encoded, then let go.
        """
        model = self._text_model()
        encoder = self._encoder(model)
        digest = TokenDigest(sides=2)
        keep = self.keep_documents
        job_side = _FitSide(encoder.encode_jobs([]), keep_documents=keep)
        graduate_side = _FitSide(encoder.encode_graduates([]), keep_documents=keep)
        job_chunks = _token_chunks(
            jobs, model.job_tokens, encoder.encode_jobs, job_side, digest.side(0)
        )
        graduate_chunks = _token_chunks(
            graduates,
            model.graduate_tokens,
            encoder.encode_graduates,
            graduate_side,
            digest.side(1),
        )
        blocks = model.fit_transform_chunks(chain(job_chunks, graduate_chunks))
        self._start(model, encoder)
        self.data_hash_ = digest.hexdigest()
        job_blocks, graduate_blocks = _split_rows(blocks, len(job_side.ids))
        self.jobs_index_.build(job_side.ids, job_blocks, job_side.features())
        self.graduates_index_.build(graduate_side.ids, graduate_blocks, graduate_side.features())
        self.jobs_.update(job_side.documents)
        self.graduates_.update(graduate_side.documents)
        return self

    def _encoder(self, model: TextModel) -> FeatureEncoder:
        majors = self.majors or MajorTable(synonyms=model.tokenizer_.synonym_map())
        return FeatureEncoder(majors=majors).fit()

    def _start(self, model: TextModel, encoder: FeatureEncoder | None = None) -> None:
        """Set up empty indexes around a fitted text model."""
        self.text_model_ = model
        self.encoder_ = encoder or self._encoder(model)
        n_features = len(model.terms_)
        self.jobs_index_: SparseIndex[JobFeatures] = SparseIndex(
            n_features=n_features,
            empty_features=self.encoder_.encode_jobs([]),
        )
        self.graduates_index_: SparseIndex[GraduateFeatures] = SparseIndex(
            n_features=n_features,
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
        self._need_documents("refit")
        return type(self)(self.params, tokenizer=self.tokenizer, majors=self.majors).fit(
            list(self.jobs_.values()), list(self.graduates_.values())
        )

    def _need_documents(self, what: str) -> None:
        if not self.keep_documents:
            raise ValueError(f"{what} needs the documents; this ranker keeps none")

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
        if self.keep_documents:
            self.jobs_.update((j.id, j) for j in jobs)

    def _upsert_graduates(
        self, graduates: Sequence[GraduateDocument], vectors: sp.csr_matrix
    ) -> None:
        features = self.encoder_.encode_graduates(graduates)
        self.graduates_index_.upsert([g.id for g in graduates], vectors, features)
        if self.keep_documents:
            self.graduates_.update((g.id, g) for g in graduates)

    def _index(self, direction: Direction) -> SparseIndex[Any]:
        return self.jobs_index_ if direction == "jobs" else self.graduates_index_

    def _related_matrix(self) -> Any:
        size = len(self.encoder_.class_codes_.codes)
        if self._related is None or self._related[0] != size:
            self._related = (size, self.encoder_.related_matrix())
        return self._related[1]

    def _graduate(self, graduate: int | GraduateDocument) -> GraduateDocument | None:
        """The document of a graduate given by id (None when documents are not kept)."""
        if not isinstance(graduate, int):
            return graduate
        return self.graduates_[graduate] if self.keep_documents else None

    def _job(self, job: int | JobDocument) -> JobDocument | None:
        """The document of a job given by id (None when documents are not kept)."""
        if not isinstance(job, int):
            return job
        return self.jobs_[job] if self.keep_documents else None


def _split_rows(
    blocks: list[sp.csr_matrix], n_rows: int
) -> tuple[list[sp.csr_matrix], list[sp.csr_matrix]]:
    """Blocks of rows → those of the first n_rows rows and those of the rest; `blocks` is
    emptied (each block is in one of the two)."""
    first: list[sp.csr_matrix] = []
    rest: list[sp.csr_matrix] = []
    blocks.reverse()
    while blocks:
        block = blocks.pop()
        room = n_rows - sum(part.shape[0] for part in first)
        if room >= block.shape[0]:
            first.append(block)
        elif room > 0:
            first.append(block[:room])
            rest.append(block[room:])
        else:
            rest.append(block)
    return first, rest


class _FitSide:
    """What a fit gathers of one side while its documents stream past."""

    def __init__(self, empty_features: Any, *, keep_documents: bool) -> None:
        self.keep_documents = keep_documents
        self.ids = array("q")
        self.feature_parts: list[Any] = [empty_features]
        self.documents: dict[int, Any] = {}

    def features(self) -> Any:
        """The encoded features of every document, in order."""
        features = type(self.feature_parts[0]).concat(self.feature_parts)
        self.feature_parts = [features]
        return features


def _token_chunks(
    documents: Iterable[Any],
    tokens_of: Any,
    encode: Any,
    side: _FitSide,
    digest: _SideDigest,
) -> Iterator[list[list[str]]]:
    """Token lists of the documents a chunk at a time, noting their ids, features and digests
    (and the documents themselves when kept) on the way."""
    for chunk in batches(documents, FIT_CHUNK):
        token_lists = [tokens_of(document) for document in chunk]
        ids = [document.id for document in chunk]
        digest.add(ids, token_lists)
        side.ids.extend(ids)
        side.feature_parts.append(encode(chunk))
        if side.keep_documents:
            side.documents.update(zip(ids, chunk, strict=True))
        yield token_lists


class _SideDigest:
    """Each document's digest (of its id and weighted tokens) with its id, for one side."""

    def __init__(self) -> None:
        self.ids = array("q")
        self.digests = bytearray()

    def add(self, ids: Sequence[int], token_lists: Sequence[list[str]]) -> None:
        for doc_id, tokens in zip(ids, token_lists, strict=True):
            self.ids.append(doc_id)
            self.digests += hashlib.sha256(f"{doc_id}\t{' '.join(tokens)}".encode()).digest()


class TokenDigest:
    """A content hash of the fitted documents (by id and weighted tokens), fed in any order a
    chunk at a time: each document's digest is kept (32 bytes) and they are hashed in id order
    at the end, so the documents need not all be held or sorted."""

    def __init__(self, sides: int) -> None:
        self._sides = [_SideDigest() for _ in range(sides)]

    def side(self, number: int) -> _SideDigest:
        """The digests of one side."""
        return self._sides[number]

    def hexdigest(self) -> str:
        """The hash of every side's documents in id order."""
        total = hashlib.sha256()
        size = hashlib.sha256().digest_size
        for number, side in enumerate(self._sides):
            total.update(f"{number}\t{len(side.ids)}\n".encode())
            digests = memoryview(side.digests)
            for row in np.argsort(np.asarray(side.ids, dtype=np.int64), kind="stable").tolist():
                total.update(digests[row * size : (row + 1) * size])
        return total.hexdigest()


def hash_tokens(*sides: Sequence[tuple[int, list[str]]]) -> str:
    """TokenDigest's hash of documents given as (id, weighted tokens) per side."""
    digest = TokenDigest(sides=len(sides))
    for number, side in enumerate(sides):
        digest.side(number).add([doc_id for doc_id, _ in side], [tokens for _, tokens in side])
    return digest.hexdigest()
