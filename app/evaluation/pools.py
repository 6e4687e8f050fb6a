"""Agency pools: one posting, a pool of graduates and which of them are right answers, ranked
through the service layer exactly as `GET /v1/jobs/{id}/matches` ranks them.

A pool is a folder of graduates.jsonl (import-format profiles), job.json (one import-format
posting) and labels.tsv (graduate external_id, grade). It is imported into a fresh SQLite
database in a temporary folder, the posting's top graduates are asked for with the default
filters, and P@30 / P@90 count the right answers among the first 30 and 90.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sqlalchemy import select

from app.db import create_db_engine, create_session_factory
from app.evaluation.records import read_jsonl
from app.evaluation.suite import (
    BASELINES,
    SuiteResult,
    baseline_runs,
    graduate_text,
    job_text,
    plain_tokenizer,
    ratios_to_best,
)
from app.importing.load import LoadSummary, load_records
from app.matching.documents import graduate_document, job_document
from app.matching.engine import MatchEngine
from app.matching.majors import load_major_table
from app.migrations import upgrade_database
from app.ranking import (
    FilterSpec,
    GraduateDocument,
    JobDocument,
    MajorTable,
    Ranker,
    RankerParams,
    Tokenizer,
)
from app.ranking.evaluation import expected_precision, is_held_out, precision_at
from app.schemas.graduates import GraduateCreate
from app.schemas.jobs import JobCreate
from app.services.match_query import MatchQuery
from app.services.matching import graduates_for_job
from app.tables import Graduate, Job

logger = logging.getLogger(__name__)

POOL_FILES = ("graduates.jsonl", "job.json", "labels.tsv")
POOL_TENANT = "pool"
# The pools' measure (see shared/eval/pools/README.md): right answers in the first 30 and 90.
POOL_DEPTHS = (30, 90)
# What the match API filters with when a request names no filter: seeking graduates, and the
# pair filters (education, city, salary) on. A test holds this to the service's own default.
SERVICE_FILTERS = FilterSpec()


class PoolFormatError(ValueError):
    """A pool folder that cannot be read; the message names the file, line and field."""


@dataclass(frozen=True, slots=True)
class AgencyPool:
    """One pool as read from its folder."""

    name: str
    job: dict[str, Any]
    graduates: list[dict[str, Any]]
    labels: dict[str, int]


@dataclass(frozen=True, slots=True)
class PoolRanking:
    """What the service returned for the pool's posting, and the documents as it indexed them."""

    top: list[str]
    ranked: list[str]
    job: JobDocument
    graduates: list[GraduateDocument]
    graduate_ids: list[str]


def read_pool(folder: str | Path) -> AgencyPool:
    """A pool from its folder; PoolFormatError names what is missing or malformed."""
    root = Path(folder)
    missing = [name for name in POOL_FILES if not (root / name).is_file()]
    if missing:
        raise PoolFormatError(
            f"{root}: missing {', '.join(missing)} (a pool folder holds {', '.join(POOL_FILES)})"
        )
    try:
        job = orjson.loads((root / "job.json").read_bytes())
    except orjson.JSONDecodeError as exc:
        raise PoolFormatError(f"{root / 'job.json'}: not JSON ({exc})") from exc
    if not isinstance(job, dict) or not job.get("title"):
        raise PoolFormatError(f"{root / 'job.json'}: field title: one posting with a title")
    graduates = []
    try:
        for number, record in enumerate(read_jsonl(root / "graduates.jsonl"), 1):
            if not isinstance(record, dict) or not record.get("external_id"):
                raise PoolFormatError(
                    f"{root / 'graduates.jsonl'} record {number}: field external_id is required"
                )
            graduates.append(record)
    except orjson.JSONDecodeError as exc:
        raise PoolFormatError(f"{root / 'graduates.jsonl'}: not JSON lines ({exc})") from exc
    labels: dict[str, int] = {}
    with (root / "labels.tsv").open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or not parts[1].strip().lstrip("-").isdigit():
                raise PoolFormatError(
                    f"{root / 'labels.tsv'} line {line_number}: field grade: expected "
                    "'external_id<TAB>grade' with an integer grade"
                )
            labels[parts[0].strip()] = int(parts[1])
    return AgencyPool(name=root.name, job=job, graduates=graduates, labels=labels)


def _check_loaded(summary: LoadSummary, path: str) -> None:
    if summary.failures:
        failure = summary.failures[0]
        errors = "; ".join(f"field {e['field']}: {e['message']}" for e in failure.errors)
        raise PoolFormatError(
            f"{path} record {failure.line} ({failure.external_id}): {errors} "
            f"({len(summary.failures)} records refused)"
        )


def rank_pool_through_service(
    pool: AgencyPool,
    *,
    shared_dir: Path,
    folder: Path,
    depth: int = max(POOL_DEPTHS),
    database_url: str | None = None,
) -> PoolRanking:
    """Import the pool into a new SQLite database under `folder` (or the empty database at
    `database_url`) and ask the match service for the posting's top `depth` graduates, and for
    every graduate it would return at all."""
    url = database_url or f"sqlite:///{folder / 'pool.db'}"
    upgrade_database(url=url)
    engine = create_db_engine(url)
    try:
        factory = create_session_factory(engine)
        records = ((n, record, None) for n, record in enumerate(pool.graduates, 1))
        summary = load_records(
            factory, Graduate, GraduateCreate, tenant=POOL_TENANT, records=records
        )
        _check_loaded(summary, f"{pool.name}/graduates.jsonl")
        summary = load_records(
            factory, Job, JobCreate, tenant=POOL_TENANT, records=[(1, pool.job, None)]
        )
        _check_loaded(summary, f"{pool.name}/job.json")
        matcher = MatchEngine(
            session_factory=factory,
            models_dir=folder / "models",
            majors=load_major_table(shared_dir),
        )
        with factory() as session:
            job = session.scalars(select(Job).where(Job.tenant == POOL_TENANT)).one()
            rows = list(
                session.scalars(
                    select(Graduate).where(Graduate.tenant == POOL_TENANT).order_by(Graduate.id)
                )
            )
            top = graduates_for_job(
                session, matcher, tenant=POOL_TENANT, job_id=job.id, query=MatchQuery(k=depth)
            )
            everyone = graduates_for_job(
                session,
                matcher,
                tenant=POOL_TENANT,
                job_id=job.id,
                query=MatchQuery(k=max(len(rows), 1)),
            )
            return PoolRanking(
                top=[m.external_id for m in top.matches],
                ranked=[m.external_id for m in everyone.matches],
                job=job_document(job),
                graduates=[graduate_document(row) for row in rows],
                graduate_ids=[row.external_id for row in rows],
            )
    finally:
        engine.dispose()


def rank_pool_with_core(
    ranking: PoolRanking,
    params: RankerParams,
    *,
    tokenizer: Tokenizer | None = None,
    majors: MajorTable | None = None,
) -> list[str]:
    """Every graduate the ranking core returns for the posting, best first, over the documents
    the service indexed: the ablation's path, where a variant needs its own ranker."""
    ranker = Ranker(params, tokenizer=tokenizer, majors=majors).fit(
        [ranking.job], ranking.graduates
    )
    by_id = dict(zip((g.id for g in ranking.graduates), ranking.graduate_ids, strict=True))
    matches = ranker.graduates_for_job(
        ranking.job.id, max(len(ranking.graduates), 1), filters=SERVICE_FILTERS, explain=False
    )
    return [by_id[m.id] for m in matches]


def pool_precision(
    ranked: list[str], labels: dict[str, int], *, held_out: bool | None = None
) -> dict[str, float]:
    """P@30 and P@90 of a ranking; on one half of the pool (held_out True or False) the
    ranking of that half's graduates at half the depths, P@15 and P@45."""
    if held_out is None:
        return {f"p@{k}": precision_at(ranked, labels, k) for k in POOL_DEPTHS}
    part = [g for g in ranked if is_held_out(g) == held_out]
    return {f"p@{k // 2}": precision_at(part, labels, k // 2) for k in POOL_DEPTHS}


def pool_parts(ranked: list[str], labels: dict[str, int]) -> dict[str, dict[str, float]]:
    """part → precision (see pool_precision)."""
    return {
        "all": pool_precision(ranked, labels),
        "tune": pool_precision(ranked, labels, held_out=False),
        "held-out": pool_precision(ranked, labels, held_out=True),
    }


def pool_chance(eligible: Iterable[str], labels: dict[str, int]) -> dict[str, dict[str, float]]:
    """part → the precision a uniformly random order of the eligible graduates is expected to
    reach (per half at half the depths, as pool_precision)."""
    halves: dict[str, list[str]] = {"all": list(eligible)}
    halves["tune"] = [g for g in halves["all"] if not is_held_out(g)]
    halves["held-out"] = [g for g in halves["all"] if is_held_out(g)]
    out: dict[str, dict[str, float]] = {}
    for part, graduates in halves.items():
        right = sum(1 for g in graduates if labels.get(g, 0) > 0)
        depths = POOL_DEPTHS if part == "all" else tuple(k // 2 for k in POOL_DEPTHS)
        out[part] = {f"p@{k}": expected_precision(right, len(graduates), k) for k in depths}
    return out


def evaluate_pool(pool: AgencyPool, *, shared_dir: Path) -> tuple[SuiteResult, PoolRanking]:
    """The pool through the service, and the baselines over the same eligible graduates; with
    what the service returned and indexed (for the ablation)."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="jobmatch-pool-") as folder:
        ranking = rank_pool_through_service(pool, shared_dir=shared_dir, folder=Path(folder))
    timings["service"] = time.perf_counter() - started
    eligible_ids = set(ranking.ranked)
    eligible = np.array([[g in eligible_ids for g in ranking.graduate_ids]], dtype=bool)
    positions = baseline_runs(
        [job_text(ranking.job)],
        [graduate_text(g) for g in ranking.graduates],
        tokenizer=plain_tokenizer(RankerParams()),
        depth=len(ranking.graduates),
        eligible=eligible,
        timings=timings,
    )
    # The API's top-k answer for P@30/P@90; the full list only for the halves.
    systems = {"ranker": pool_parts(ranking.ranked, pool.labels)}
    systems["ranker"]["all"] = pool_precision(ranking.top, pool.labels)
    for name in BASELINES:
        ranked = [ranking.graduate_ids[p] for p in positions[name][0]]
        systems[name] = pool_parts(ranked, pool.labels)
    metrics = {
        part: {name: parts[part] for name, parts in systems.items()}
        for part in ("all", "tune", "held-out")
    }
    result = SuiteResult(
        name=pool.name,
        kind="pool",
        labels="right answers of labels.tsv",
        metrics=metrics,
        ratios={part: ratios_to_best(values) for part, values in metrics.items()},
        corpus={
            "graduates": len(ranking.graduates),
            "eligible": len(eligible_ids),
            "right_answers": sum(1 for g in pool.labels.values() if g > 0),
            # Right answers the filters let through: P@90 cannot pass min(this, 90) / 90.
            "eligible_right_answers": sum(1 for g in eligible_ids if pool.labels.get(g, 0) > 0),
            # What a perfect order of the same eligible graduates scores, per part.
            "ceiling": pool_parts(
                sorted(ranking.ranked, key=lambda g: pool.labels.get(g, 0) <= 0), pool.labels
            ),
            "posting": pool.job.get("title"),
        },
        seconds=timings,
        chance=pool_chance(ranking.ranked, pool.labels),
    )
    return result, ranking
