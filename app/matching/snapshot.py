"""One tenant's fitted ranker with the labels of the documents it indexes, and how one is
built: a saved version loaded, or a new one fitted and published through the model store."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy.orm import Session

from app.matching.change_log import log_head
from app.matching.documents import graduate_document, job_document
from app.model_store import ModelStore
from app.ranking import MajorTable, Ranker, RankerParams, Tokenizer
from app.ranking.duplicates import BlockSignatures, duplicate_tokenizer, posting_text
from app.repositories import tenant_graduates, tenant_jobs
from app.tables import Graduate, Job

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Answers kept per snapshot between two changes: a k=10 answer takes at most ~22 KB
# (tracemalloc, every label distinct), so this bounds them at ~45 MB per tenant and worker.
ANSWERS_KEPT = 2048
# Bytes of whole responses' JSON kept per snapshot between two changes: the same bound. Kept
# apart from the answers, whose entries (a ranking, a flag, a response per graduate) filled
# 2,048 after ~680 graduates, so at 100k postings a bench that asks 2,000 graduates again
# found none of their responses and ranked every request anew.
RESPONSE_BYTES_KEPT = ANSWERS_KEPT * 22 * 1024

# A served ranker keeps vectors and features only: explanations read their documents from the
# tenant's rows when asked (app.matching.documents.DatabaseDocuments). Kept, every document's
# text would sit beside the index in each worker, for every tenant.
SERVED_KEEPS_DOCUMENTS = False


class KeptResponses:
    """Responses' JSON by query, up to RESPONSE_BYTES_KEPT (then no more are added)."""

    def __init__(self) -> None:
        self.bodies: dict[Hashable, bytes] = {}
        self.size = 0

    def get(self, key: Hashable) -> bytes | None:
        """The JSON kept for this query, if any."""
        return self.bodies.get(key)

    def put(self, key: Hashable, body: bytes) -> None:
        """Keep a response's JSON while there is room."""
        if self.size + len(body) <= RESPONSE_BYTES_KEPT:
            self.bodies[key] = body
            self.size += len(body)


@dataclass(frozen=True, slots=True)
class JobLabel:
    """What a match response shows of a job besides its id."""

    external_id: str
    title: str
    company: str
    city: str | None

    @staticmethod
    def of(job: Job) -> JobLabel:
        """The label of a stored job."""
        return JobLabel(job.external_id, job.title, job.company, job.city)


@dataclass(frozen=True, slots=True)
class GraduateLabel:
    """What a match response shows of a graduate: no name, phone or e-mail."""

    external_id: str
    major: str | None
    education: str
    school: str | None
    city: str | None

    @staticmethod
    def of(graduate: Graduate) -> GraduateLabel:
        """The label of a stored graduate."""
        return GraduateLabel(
            graduate.external_id, graduate.major, graduate.education, graduate.school, graduate.city
        )


@dataclass(slots=True)
class IndexSnapshot:
    """One fitted ranker with the labels of the documents it indexes."""

    ranker: Ranker
    version: str
    fitted_at: datetime
    fitted_change_id: int
    source: Literal["fitted", "loaded"]
    jobs: dict[int, JobLabel] = field(default_factory=dict)
    graduates: dict[int, GraduateLabel] = field(default_factory=dict)
    # The MinHash signature of each open posting, by company: a match's near-duplicates are
    # found among them without reading or tokenising its company's postings per request.
    open_postings: BlockSignatures[int] = field(default_factory=BlockSignatures)
    # Answers computed from this snapshot as it is now (see answer()). Any change replaces the
    # dict rather than clearing it: whoever still holds the old one (an answer finished outside
    # the lock) fills a dict nobody reads again, never the new one with a stale answer.
    answers: dict[Hashable, Any] = field(default_factory=dict)
    # Whole responses, replaced with the answers on any change (never cleared, likewise).
    responses: KeptResponses = field(default_factory=KeptResponses)

    def answer(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The answer to a query on this snapshot, computed once until the next change. The
        caller holds the tenant lock (reading()), which changes are applied under too."""
        if key in self.answers:
            cached: T = self.answers[key]
            return cached
        if len(self.answers) >= ANSWERS_KEPT:
            self.answers = {}
        value = self.answers[key] = compute()
        return value

    def forget_answers(self) -> None:
        """Drop every kept answer and response (a document changed)."""
        self.answers = {}
        self.responses = KeptResponses()

    def put_job(self, job: Job) -> None:
        """Index or re-index a job (removing it when it moved to another tenant)."""
        self.forget_answers()
        self.ranker.upsert_jobs([job_document(job)])
        self.jobs[job.id] = JobLabel.of(job)
        if job.status == "open":
            sign_postings(self.open_postings, [job])
        else:
            self.open_postings.remove(job.id)

    def put_graduate(self, graduate: Graduate) -> None:
        """Index or re-index a graduate."""
        self.forget_answers()
        self.ranker.upsert_graduates([graduate_document(graduate)])
        self.graduates[graduate.id] = GraduateLabel.of(graduate)

    def apply(self, entity: str, entity_id: int, document: Job | Graduate | None) -> None:
        """Bring one document up to date: (re-)index it, or drop it when it is gone (None)."""
        if document is None:
            self.drop(entity, entity_id)
        elif isinstance(document, Job):
            self.put_job(document)
        else:
            self.put_graduate(document)

    def drop(self, entity: str, entity_id: int) -> None:
        """Remove a document that no longer exists."""
        self.forget_answers()
        if entity == "job":
            self.ranker.remove_jobs([entity_id])
            self.jobs.pop(entity_id, None)
            self.open_postings.remove(entity_id)
        else:
            self.ranker.remove_graduates([entity_id])
            self.graduates.pop(entity_id, None)


def sign_postings(book: BlockSignatures[int], jobs: Sequence[Job]) -> None:
    """Keep (or replace) the near-duplicate signatures of open postings, by company."""
    tokenizer = duplicate_tokenizer()
    book.put(
        [job.id for job in jobs],
        [job.company for job in jobs],
        [tokenizer.tokenize(posting_text(job.title, job.skills, job.description)) for job in jobs],
        [tokenizer.tokenize(job.title) for job in jobs],
    )


@dataclass(frozen=True, slots=True)
class SnapshotBuilder:
    """Builds a tenant's snapshot from the database: loads a saved version, or fits anew."""

    store: ModelStore
    params: RankerParams | None = None
    majors: MajorTable | None = None
    # False: school names and tiers are cut from every text of the versions fitted here.
    school_signal: bool = True

    def build(
        self, session: Session, tenant: str, *, allow_load: bool, version: str | None = None
    ) -> tuple[IndexSnapshot, int] | None:
        """Load `version`, or the current version when it matches the database; else fit and
        publish a new one. With it, the log head it reflects; None when there are no documents.

        Loading keeps the saved vocabulary and idf and indexes the documents as they are now.
        """
        head = log_head(session, tenant)
        jobs = tenant_jobs(session, tenant=tenant)
        graduates = tenant_graduates(session, tenant=tenant)
        if not jobs and not graduates:
            return None
        job_docs = [job_document(job) for job in jobs]
        graduate_docs = [graduate_document(graduate) for graduate in graduates]
        if version is None and allow_load:
            pointer = self.store.read_pointer(tenant)
            # A version fitted before the latest change misses it: fit anew instead.
            if pointer is not None and pointer.change_id == head:
                version = pointer.version
        started = time.perf_counter()
        snapshot: IndexSnapshot | None = None
        if version is not None and self.store.has_version(tenant, version):
            try:
                ranker = self.store.load(
                    tenant,
                    version,
                    jobs=job_docs,
                    graduates=graduate_docs,
                    keep_documents=SERVED_KEEPS_DOCUMENTS,
                )
                snapshot = self._snapshot(ranker, tenant, version, head, "loaded")
            except (ValueError, KeyError, OSError) as exc:
                # An artifact of an older format (or a damaged one) is rebuilt, not fatal.
                logger.warning("cannot load version %s (%s); fitting a new one", version, exc)
        if snapshot is None:
            # The tenant's weights from `jobmatch tune`, if any, shape every version fitted.
            params = self.store.params_for_fit(self.params, tenant)
            tokenizer = Tokenizer(
                backend=(params or RankerParams()).backend, drop_schools=not self.school_signal
            )
            ranker = Ranker(
                params,
                tokenizer=tokenizer,
                majors=self.majors,
                keep_documents=SERVED_KEEPS_DOCUMENTS,
            ).fit(job_docs, graduate_docs)
            fitted = self.store.publish(tenant, ranker, change_id=head)
            snapshot = self._snapshot(ranker, tenant, fitted, head, "fitted")
        snapshot.jobs.update((job.id, JobLabel.of(job)) for job in jobs)
        snapshot.graduates.update(
            (graduate.id, GraduateLabel.of(graduate)) for graduate in graduates
        )
        indexed = time.perf_counter()
        sign_postings(snapshot.open_postings, [job for job in jobs if job.status == "open"])
        logger.info(
            "index %s for tenant %s: %s (%d jobs, %d graduates) in %.2f s, "
            "near-duplicate signatures of %d open postings in %.2f s",
            snapshot.version,
            tenant,
            snapshot.source,
            len(jobs),
            len(graduates),
            indexed - started,
            len(snapshot.open_postings),
            time.perf_counter() - indexed,
        )
        return snapshot, head

    def _snapshot(
        self,
        ranker: Ranker,
        tenant: str,
        version: str,
        change_id: int,
        source: Literal["fitted", "loaded"],
    ) -> IndexSnapshot:
        manifest = self.store.manifest(tenant, version)
        return IndexSnapshot(
            ranker=ranker,
            version=version,
            fitted_at=datetime.fromisoformat(manifest["created_at"]),
            fitted_change_id=change_id,
            source=source,
        )
