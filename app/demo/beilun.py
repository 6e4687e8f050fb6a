"""The Beilun drive of the five-day case (SYNTHETIC, seeded): a sample of the agency's unplaced
graduates ranked in one batch against the open Ningbo postings of three industries, exact
top-k with the live version's vocabulary and idf."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.demo.generator import DEFAULT_SEED
from app.matching.documents import graduate_document, job_document
from app.matching.engine import MatchEngine
from app.ranking import FilterSpec, Match
from app.repositories import tenant_graduate_ids, tenant_graduates, tenant_jobs
from app.tables import Candidacy, Graduate, Job

BEILUN_GRADUATES = 718
BEILUN_INDUSTRIES = ("汽车零部件", "智能装备与精密制造", "物联网")


@dataclass(frozen=True, slots=True)
class JobPick:
    """One job in a graduate's top list."""

    job_id: int
    title: str
    company: str
    industry: str | None
    district: str | None
    score: float


@dataclass(frozen=True, slots=True)
class GraduatePicks:
    """A graduate of the drive (no personal data) and their top jobs."""

    graduate_id: int
    external_id: str
    major: str | None
    education: str
    picks: list[JobPick]


@dataclass(frozen=True, slots=True)
class BeilunResult:
    """The batch: who was ranked against which jobs, the top jobs of each, and the time."""

    version: str
    jobs_by_industry: dict[str, int]
    jobs_in_beilun: int
    places: int
    graduates: list[GraduatePicks]
    load_ms: float
    rank_ms: float

    @property
    def jobs(self) -> int:
        """Open postings of the three industries."""
        return sum(self.jobs_by_industry.values())

    @property
    def matched(self) -> int:
        """Graduates with at least one job."""
        return sum(1 for graduate in self.graduates if graduate.picks)

    def top_scores(self) -> list[float]:
        """The best score of each graduate with a job."""
        return [graduate.picks[0].score for graduate in self.graduates if graduate.picks]


def choose_unplaced(session: Session, *, tenant: str, count: int, seed: int) -> list[int]:
    """A seeded sample of the agency's seeking graduates who are in no pipeline."""
    busy = select(Candidacy.graduate_id)
    ids = tenant_graduate_ids(
        session, tenant=tenant, where=[Graduate.status == "seeking", Graduate.id.not_in(busy)]
    )
    rng = random.Random(f"jobmatch-five-day:beilun:{seed}")
    return sorted(rng.sample(ids, min(count, len(ids))))


def run_beilun_drive(
    factory: sessionmaker[Session],
    matcher: MatchEngine,
    *,
    tenant: str,
    seed: int = DEFAULT_SEED,
    graduates: int = BEILUN_GRADUATES,
    industries: Sequence[str] = BEILUN_INDUSTRIES,
    k: int = 5,
) -> BeilunResult:
    """Rank the open Ningbo postings of `industries` for a sample of unplaced graduates in one
    batch: the live version's vocabulary and idf, only those postings indexed (so the top-k is
    exact within them)."""
    with factory() as session:
        with matcher.reading(session, tenant) as snapshot:
            if snapshot is None:
                raise LookupError(f"tenant {tenant} has nothing indexed")
            version = snapshot.version
        chosen = choose_unplaced(session, tenant=tenant, count=graduates, seed=seed)
        jobs = tenant_jobs(
            session,
            tenant=tenant,
            where=[Job.status == "open", Job.city == "宁波", Job.industry.in_(list(industries))],
        )
        people = tenant_graduates(session, tenant=tenant, ids=chosen)
    started = time.perf_counter()
    ranker = matcher.store.load(
        tenant,
        version,
        jobs=[job_document(job) for job in jobs],
        graduates=[graduate_document(graduate) for graduate in people],
    )
    loaded = time.perf_counter()
    ranked: list[list[Match]] = ranker.jobs_for_graduates(chosen, k, filters=FilterSpec())
    done = time.perf_counter()
    by_id = {job.id: job for job in jobs}
    person = {graduate.id: graduate for graduate in people}
    return BeilunResult(
        version=version,
        jobs_by_industry=dict(Counter(job.industry or "" for job in jobs)),
        jobs_in_beilun=sum(1 for job in jobs if job.district == "北仑"),
        places=sum(job.headcount for job in jobs),
        graduates=[
            GraduatePicks(
                graduate_id=graduate_id,
                external_id=person[graduate_id].external_id,
                major=person[graduate_id].major,
                education=person[graduate_id].education,
                picks=[
                    JobPick(
                        job_id=match.id,
                        title=by_id[match.id].title,
                        company=by_id[match.id].company,
                        industry=by_id[match.id].industry,
                        district=by_id[match.id].district,
                        score=match.score,
                    )
                    for match in matches
                ],
            )
            for graduate_id, matches in zip(chosen, ranked, strict=True)
        ],
        load_ms=(loaded - started) * 1000,
        rank_ms=(done - loaded) * 1000,
    )
