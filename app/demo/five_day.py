"""The five-day case as a SYNTHETIC, seeded simulation through the service layer.

Pool: graduates and postings from app.demo's generators (the size of the seed: ~15,000
graduates like Zhenhai's yearly intake, ~1,800 positions like its campus fairs), optionally
mixed with a seeded sample of the real postings in ../shared/data (read there, never copied).

Five days: 科甬泰's requisition for 30 graduates, a shortlist of 30 on day 1, then the agency's
calls, the employer's CV screens and interviews (INTERVIEW_SLOTS a day), offers and
acceptances, decided by a seeded outcome model (`OutcomeModel`: answers, screens, interviews
and acceptances drawn from each graduate's profile). From day 2 the agency keeps a bench of
BENCH_RATIO candidates per open place in the pipeline while new candidates can still be hired
before the deadline. Every stage change goes
through app.services.pipeline.move_candidacy at a simulated time: the five local days ending
yesterday, so no event lies in the future.

The Beilun drive that follows it is in app.demo.beilun.
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.demo.generator import (
    DEFAULT_SEED,
    KEYONGTAI_COMPANY,
    KEYONGTAI_JOB_EXTERNAL_ID,
    generate_graduates,
    generate_jobs,
)
from app.demo.vocabulary import MAJOR_CLASSES
from app.importing.load import LoadSummary, load_records
from app.importing.readers import iter_raw_records
from app.matching.engine import MatchEngine
from app.repositories import job_id_by_external_id
from app.schemas.graduates import GraduateCreate
from app.schemas.jobs import JobCreate
from app.schemas.requisitions import Progress, RequisitionCreate, Shortlist
from app.services.pipeline import ACTIVE, move_candidacy
from app.services.progress import LOCAL_TIME, progress_chart, requisition_progress
from app.services.requisitions import create_requisition, shortlist
from app.tables import Candidacy, Graduate, Job, PipelineEvent, Requisition

logger = logging.getLogger(__name__)

SEED_GRADUATES = 15_000
SEED_POSITIONS = 1_800
REAL_POSTINGS = 300
TARGET_CLASSES = frozenset({"电气类", "自动化类"})
HEADCOUNT = 30
DAYS = 5
# Shortlisted on day d: called that day, interviewed (and offered) the next, hired the day after.
DAYS_TO_HIRE = 2
# The agency keeps this many candidates in play per open place; the employer interviews this
# many a day.
BENCH_RATIO = 2.0
INTERVIEW_SLOTS = 20
AGENCY_RECORDER = "中博顾问（模拟）"
EMPLOYER_RECORDER = "科甬泰HR（模拟）"
_DAY_START_HOUR = 9
_SECONDS_PER_EVENT = 20


def is_target_major(major: str | None) -> bool:
    """Whether a major is in 电气类 or 自动化类 (the requisition's classes)."""
    return MAJOR_CLASSES.get(major or "") in TARGET_CLASSES


def precision_by_major(majors: Sequence[str | None]) -> float:
    """Share of the majors in 电气类 or 自动化类."""
    return sum(map(is_target_major, majors)) / len(majors) if majors else 0.0


# --- the pool -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pool:
    """Records to load: synthetic postings (科甬泰's first), real postings, graduates."""

    jobs: list[dict[str, Any]]
    real_jobs: list[tuple[int, dict[str, Any]]]
    graduates: list[dict[str, Any]]
    real_source: Path | None


def read_real_postings(path: Path, count: int, *, seed: int) -> list[tuple[int, dict[str, Any]]]:
    """A seeded sample of `count` readable postings of a JSONL file, with their line numbers."""
    readable = [(raw.line, raw.data) for raw in iter_raw_records(path) if raw.data is not None]
    rng = random.Random(f"jobmatch-five-day:real:{seed}")
    chosen = rng.sample(readable, min(count, len(readable)))
    return sorted(chosen, key=lambda item: item[0])


def build_pool(
    *,
    seed: int = DEFAULT_SEED,
    graduates: int = SEED_GRADUATES,
    positions: int = SEED_POSITIONS,
    real_postings: Path | None = None,
    real_count: int = REAL_POSTINGS,
) -> Pool:
    """`positions` postings (up to `real_count` of them real, when the file is there) and
    `graduates` graduates, deterministic for a seed and file."""
    real: list[tuple[int, dict[str, Any]]] = []
    if real_postings is not None and real_postings.is_file() and real_count > 0:
        real = read_real_postings(real_postings, min(real_count, positions - 1), seed=seed)
    return Pool(
        jobs=generate_jobs(positions - len(real), seed=seed),
        real_jobs=real,
        graduates=generate_graduates(graduates, seed=seed),
        real_source=real_postings if real else None,
    )


def load_pool(factory: sessionmaker[Session], pool: Pool, *, tenant: str) -> dict[str, LoadSummary]:
    """Upsert the pool through the importer's batch loader. Every synthetic record must pass
    validation (else RuntimeError); a real posting that fails is skipped, as an import would."""
    parts: tuple[tuple[str, Any, Any, Iterable[tuple[int, dict[str, Any], None]]], ...] = (
        ("jobs", Job, JobCreate, ((n, row, None) for n, row in enumerate(pool.jobs, 1))),
        ("real jobs", Job, JobCreate, ((line, row, None) for line, row in pool.real_jobs)),
        (
            "graduates",
            Graduate,
            GraduateCreate,
            ((n, g, None) for n, g in enumerate(pool.graduates, 1)),
        ),
    )
    summaries = {}
    for label, table, schema, records in parts:
        summary = load_records(factory, table, schema, tenant=tenant, records=records)
        if summary.failures and label != "real jobs":
            raise RuntimeError(f"{label} failed validation: {summary.failures[:3]}")
        summaries[label] = summary
    return summaries


# --- the outcome model --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutcomeModel:
    """What graduates and the employer decide, drawn per graduate and step from the seed, so a
    decision does not depend on the order candidates are processed in.

    - the call: a graduate whose first choice is 宁波 answers and is interested with p 0.9,
      one who also names 宁波 0.75, otherwise 0.5;
    - the CV screen: 0.45 + 0.12 per wanted skill listed (PLC, 电气设计, CAD, EPLAN, S7-1200,
      变频器), at most 0.95, halved for a graduate outside the 2026/2027 classes;
    - the interview: 0.8 for a listed major, 0.6 for another 电气类/自动化类 major, else 0.3;
    - the offer: accepted with p 0.9 when the graduate expects at most 8,500 a month, 0.75 up to
      the posting's 10,000, else 0.45.
    """

    seed: int = DEFAULT_SEED
    majors: frozenset[str] = frozenset({"电气工程及其自动化", "自动化"})
    skills: tuple[str, ...] = ("PLC", "电气设计", "CAD", "EPLAN", "S7-1200", "变频器")
    years: frozenset[int] = frozenset({2026, 2027})

    def _draw(self, graduate: Graduate, step: str) -> float:
        return random.Random(
            f"jobmatch-five-day:{self.seed}:{graduate.external_id}:{step}"
        ).random()

    def answers_call(self, graduate: Graduate) -> bool:
        """The graduate picks up and is interested."""
        cities = list(graduate.desired_cities)
        chance = 0.9 if cities[:1] == ["宁波"] else 0.75 if "宁波" in cities else 0.5
        return self._draw(graduate, "call") < chance

    def passes_screen(self, graduate: Graduate) -> bool:
        """The employer invites the graduate to interview after reading the CV."""
        listed = " ".join(graduate.skills).upper()
        hits = sum(skill.upper() in listed for skill in self.skills)
        chance = min(0.95, 0.45 + 0.12 * hits)
        if graduate.graduation_year not in self.years:
            chance /= 2
        return self._draw(graduate, "screen") < chance

    def passes_interview(self, graduate: Graduate) -> bool:
        """The employer makes an offer after the interview."""
        if graduate.major in self.majors:
            chance = 0.8
        elif is_target_major(graduate.major):
            chance = 0.6
        else:
            chance = 0.3
        return self._draw(graduate, "interview") < chance

    def accepts_offer(self, graduate: Graduate) -> bool:
        """The graduate accepts the offer."""
        expected = graduate.expected_salary or 0
        chance = 0.9 if expected <= 8500 else 0.75 if expected <= 10000 else 0.45
        return self._draw(graduate, "offer") < chance


# --- five days ----------------------------------------------------------------------------


class SimulatedClock:
    """Event times of the simulated days: each day from 09:00 local, one event every 20 s."""

    def __init__(self, days: Sequence[date]) -> None:
        self.days = tuple(days)
        self._ticks: Counter[int] = Counter()

    def next(self, day: int) -> datetime:
        """The time of the next event on `day` (1-based)."""
        self._ticks[day] += 1
        start = datetime.combine(self.days[day - 1], datetime.min.time(), tzinfo=LOCAL_TIME)
        return start + timedelta(
            hours=_DAY_START_HOUR, seconds=_SECONDS_PER_EVENT * self._ticks[day]
        )


def simulated_days(today: date, count: int = DAYS) -> list[date]:
    """The `count` local dates ending yesterday."""
    return [today - timedelta(days=count - offset) for offset in range(count)]


@dataclass(slots=True)
class DayLog:
    """What happened on one simulated day."""

    day: int
    date: date
    shortlisted: int = 0
    moves: Counter[str] = field(default_factory=Counter)

    @property
    def hires(self) -> int:
        """Hires recorded that day."""
        return self.moves["hired"]


@dataclass(frozen=True, slots=True)
class FiveDayResult:
    """The requisition, its first shortlist, each day's events, and where it stands."""

    requisition_id: int
    job_id: int
    first_shortlist: Shortlist
    precision_by_major: float
    days: list[DayLog]
    progress: Progress
    chart: bytes


class _Day:
    """One simulated working day of a requisition: its candidacies by stage, and stage changes
    at the day's simulated times."""

    def __init__(
        self, session: Session, requisition: Requisition, clock: SimulatedClock, log: DayLog
    ) -> None:
        self.session = session
        self.requisition = requisition
        self.clock = clock
        self.log = log

    def at_stage(self, stage: str) -> list[tuple[Candidacy, Graduate]]:
        """The requisition's candidacies at `stage`, by rank, with their graduates."""
        rows = self.session.execute(
            select(Candidacy, Graduate)
            .join(Graduate, Graduate.id == Candidacy.graduate_id)
            .where(Candidacy.requisition_id == self.requisition.id, Candidacy.stage == stage)
            .order_by(Candidacy.rank)
        )
        return [(candidacy, graduate) for candidacy, graduate in rows]

    def count(self, stages: Sequence[str]) -> int:
        """Candidacies at any of `stages`."""
        return len(
            self.session.scalars(
                select(Candidacy.id).where(
                    Candidacy.requisition_id == self.requisition.id, Candidacy.stage.in_(stages)
                )
            ).all()
        )

    def move(self, candidacy: Candidacy, stage: str, recorded_by: str, note: str) -> None:
        """Record a stage change at the next simulated time of the day."""
        move_candidacy(
            self.session,
            requisition=self.requisition,
            candidacy=candidacy,
            stage=stage,
            recorded_by=recorded_by,
            note=note,
            occurred_at=self.clock.next(self.log.day),
        )
        self.log.moves[stage] += 1

    def backdate(self, picks: Shortlist) -> None:
        """Move what shortlist() stamped with wall time onto the simulated clock."""
        ids = [entry.candidacy_id for entry in picks.shortlisted]
        self.log.shortlisted += len(ids)
        if not ids:
            return
        when = self.clock.next(self.log.day)
        self.session.execute(
            update(PipelineEvent)
            .where(PipelineEvent.candidacy_id.in_(ids), PipelineEvent.to_stage == "recommended")
            .values(occurred_at=when)
            .execution_options(synchronize_session=False)
        )
        self.session.execute(
            update(Candidacy)
            .where(Candidacy.id.in_(ids))
            .values(created_at=when)
            .execution_options(synchronize_session=False)
        )
        if self.log.day == 1 and self.requisition.first_shortlisted_at is not None:
            self.requisition.first_shortlisted_at = min(when, self.requisition.first_shortlisted_at)
        self.session.flush()


def run_five_days(
    factory: sessionmaker[Session],
    matcher: MatchEngine,
    *,
    tenant: str,
    job_id: int,
    today: date,
    model: OutcomeModel,
    headcount: int = HEADCOUNT,
    first_size: int = HEADCOUNT,
    bench_ratio: float = BENCH_RATIO,
    interview_slots: int = INTERVIEW_SLOTS,
    max_open_shortlists: int = 1,
) -> FiveDayResult:
    """Create the requisition, shortlist, and play five days of pipeline events; one
    transaction per day, like an agency's working day."""
    days = simulated_days(today)
    clock = SimulatedClock(days)
    with factory.begin() as session:
        requisition = create_requisition(
            session,
            tenant=tenant,
            data=RequisitionCreate(
                employer=KEYONGTAI_COMPANY,
                title=f"电气自动化工程师{headcount}名（应届）",
                headcount=headcount,
                deadline=days[-1],
                job_ids=[job_id],
            ),
        )
        requisition.created_at = clock.next(1)
        requisition_id = requisition.id
    logs = [DayLog(day=number, date=day) for number, day in enumerate(days, 1)]
    first: Shortlist | None = None
    for log in logs:
        with factory.begin() as session:
            day = _Day(session, session.get_one(Requisition, requisition_id), clock, log)
            # Morning: answers to yesterday's offers, in rank order, until the places are full.
            for candidacy, graduate in day.at_stage("offered"):
                if day.requisition.status != "open":
                    break
                if model.accepts_offer(graduate):
                    day.move(candidacy, "hired", AGENCY_RECORDER, "接受录用")
                else:
                    day.move(candidacy, "withdrawn", AGENCY_RECORDER, "婉拒录用")
            if day.requisition.status != "open":
                break
            # Interviews of those called on earlier days, in rank order: the CV screen, then
            # an interview while the employer has slots left today (the rest wait), an offer.
            slots = interview_slots
            for candidacy, graduate in day.at_stage("contacted"):
                if not model.passes_screen(graduate):
                    day.move(candidacy, "rejected", EMPLOYER_RECORDER, "简历筛选未通过")
                    continue
                if slots == 0:
                    continue
                slots -= 1
                day.move(candidacy, "interviewed", EMPLOYER_RECORDER, "参加面试")
                if model.passes_interview(graduate):
                    day.move(candidacy, "offered", EMPLOYER_RECORDER, "发放录用意向")
                else:
                    day.move(candidacy, "rejected", EMPLOYER_RECORDER, "面试未通过")
            # The shortlist on day 1; from day 2 the bench topped up to bench_ratio candidates
            # per open place while new candidates can still be hired before the deadline.
            size = 0
            if log.day == 1:
                size = first_size
            elif log.day + DAYS_TO_HIRE <= DAYS:
                remaining = headcount - day.count(["hired"])
                size = max(0, math.ceil(bench_ratio * remaining) - day.count(ACTIVE))
            if size:
                picks = shortlist(
                    session,
                    matcher,
                    requisition=day.requisition,
                    size=size,
                    max_open_shortlists=max_open_shortlists,
                )
                day.backdate(picks)
                first = first or picks
            # Calls to everyone shortlisted today.
            for candidacy, graduate in day.at_stage("recommended"):
                if model.answers_call(graduate):
                    day.move(candidacy, "contacted", AGENCY_RECORDER, "电话沟通，有意向")
                else:
                    day.move(candidacy, "withdrawn", AGENCY_RECORDER, "电话沟通，无意向")
        logger.info("day %d (%s): %s", log.day, log.date, dict(log.moves))
    assert first is not None, "day 1 always shortlists"
    with factory() as session:
        requisition = session.get_one(Requisition, requisition_id)
        progress = requisition_progress(session, requisition=requisition, today=days[-1])
    return FiveDayResult(
        requisition_id=requisition_id,
        job_id=job_id,
        first_shortlist=first,
        precision_by_major=precision_by_major([e.major for e in first.shortlisted[:HEADCOUNT]]),
        days=logs,
        progress=progress,
        chart=progress_chart(progress, started=days[0]),
    )


def keyongtai_job_id(session: Session, *, tenant: str) -> int:
    """The id of 科甬泰's posting in the pool."""
    job_id = job_id_by_external_id(session, tenant=tenant, external_id=KEYONGTAI_JOB_EXTERNAL_ID)
    if job_id is None:
        raise LookupError(f"{KEYONGTAI_JOB_EXTERNAL_ID} is not in tenant {tenant}")
    return job_id
