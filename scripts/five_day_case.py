"""The five-day case, end to end on SYNTHETIC data: pool, requisition, shortlist, five simulated
days of pipeline events, the funnel (printed and plotted), what the outcomes teach, and the
Beilun batch drive.

Usage: .venv/bin/python scripts/five_day_case.py [--graduates 15000] [--positions 1800] ...
(`make demo`). Runs in a fresh SQLite database in a temporary folder unless --database-url is
given; the folder is removed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select

from app.db import create_db_engine, create_session_factory
from app.demo import DEFAULT_SEED, SYNTHETIC_NOTICE
from app.demo.beilun import BEILUN_GRADUATES, BEILUN_INDUSTRIES, BeilunResult, run_beilun_drive
from app.demo.five_day import (
    HEADCOUNT,
    REAL_POSTINGS,
    SEED_GRADUATES,
    SEED_POSITIONS,
    FiveDayResult,
    OutcomeModel,
    build_pool,
    is_target_major,
    keyongtai_job_id,
    load_pool,
    run_five_days,
)
from app.learning.outcomes import read_outcomes, shortlist_outcomes
from app.learning.report import format_tune_result
from app.learning.tune import TuneRefused, tune_weights
from app.matching.engine import MatchEngine
from app.matching.majors import load_major_table
from app.migrations import upgrade_database
from app.model_store import ModelStore
from app.services.progress import STAGES, local_today
from app.settings import get_settings
from app.tables import Job

TENANT = "zhongbo"
TARGET_MS = 1000.0
TARGET_PRECISION = 0.9


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Options of the demo."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed")
    parser.add_argument("--graduates", type=int, default=SEED_GRADUATES, help="pool graduates")
    parser.add_argument("--positions", type=int, default=SEED_POSITIONS, help="pool postings")
    parser.add_argument(
        "--real-postings",
        type=int,
        default=REAL_POSTINGS,
        help="of the positions, how many real ones to mix in from SHARED/data (0: none)",
    )
    parser.add_argument("--shared-dir", type=Path, help="default: JOBMATCH_SHARED_DIR")
    parser.add_argument("--beilun-graduates", type=int, default=BEILUN_GRADUATES)
    parser.add_argument("--tenant", default=TENANT, help="agency (default: %(default)s)")
    parser.add_argument("--database-url", help="an empty tenant there (default: a fresh SQLite)")
    parser.add_argument("--models-dir", type=Path, help="default: in the temporary folder")
    parser.add_argument(
        "--chart", type=Path, default=Path("var/five_day_case.png"), help="where the PNG goes"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of figures")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the case and print its figures."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = get_settings()
    folder = Path(tempfile.mkdtemp(prefix="jobmatch-five-day-"))
    url = args.database_url or f"sqlite:///{folder / 'jobmatch.db'}"
    models_dir = args.models_dir or folder / "models"
    try:
        return run(
            args, url=url, models_dir=models_dir, shared_dir=args.shared_dir or settings.shared_dir
        )
    finally:
        if args.keep:
            print(f"kept {folder} (database and models)")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace, *, url: str, models_dir: Path, shared_dir: Path) -> int:
    """The case against the database at `url`."""
    print(f"jobmatch five-day case: {SYNTHETIC_NOTICE}")
    upgrade_database(url=url)
    engine = create_db_engine(url)
    factory = create_session_factory(engine)
    try:
        with factory() as session:
            if session.scalar(select(exists().where(Job.tenant == args.tenant))):
                print(f"error: tenant {args.tenant} already has postings; use a fresh database")
                return 2
        figures: dict[str, Any] = {"seed": args.seed}

        started = time.perf_counter()
        real_file = shared_dir / "data" / "jobs_zhaopin.jsonl"
        pool = build_pool(
            seed=args.seed,
            graduates=args.graduates,
            positions=args.positions,
            real_postings=real_file,
            real_count=args.real_postings,
        )
        summaries = load_pool(factory, pool, tenant=args.tenant)
        loaded = time.perf_counter()
        matcher = MatchEngine(
            session_factory=factory,
            models_dir=models_dir,
            majors=load_major_table(shared_dir),
        )
        matcher.warm()
        indexed = time.perf_counter()
        target = sum(
            1
            for graduate in pool.graduates
            if is_target_major(graduate["major"]) and graduate["education"] != "大专"
        )
        real_jobs = summaries["real jobs"].created
        figures.update(
            graduates=len(pool.graduates),
            positions=len(pool.jobs) + real_jobs,
            real_positions=real_jobs,
        )
        real = f", {real_jobs} real from {pool.real_source}" if real_jobs else ", no real postings"
        print(
            f"pool: {len(pool.graduates):,} graduates ({target:,} of them 本科+ in "
            f"电气类/自动化类), {figures['positions']:,} positions "
            f"({len(pool.jobs):,} synthetic{real})"
        )
        print(
            f"loaded in {loaded - started:.1f} s; index fitted in {indexed - loaded:.1f} s "
            "(once, as at server start-up)"
        )

        with factory() as session:
            job_id = keyongtai_job_id(session, tenant=args.tenant)
        case = run_five_days(
            factory,
            matcher,
            tenant=args.tenant,
            job_id=job_id,
            today=local_today(),
            model=OutcomeModel(seed=args.seed),
        )
        figures.update(print_case(case))
        args.chart.parent.mkdir(parents=True, exist_ok=True)
        args.chart.write_bytes(case.chart)
        print(f"chart: {args.chart}")
        figures["chart"] = str(args.chart)

        figures.update(print_learning(factory, models_dir=models_dir, tenant=args.tenant))

        beilun = run_beilun_drive(
            factory, matcher, tenant=args.tenant, seed=args.seed, graduates=args.beilun_graduates
        )
        figures.update(print_beilun(beilun))
        if args.json:
            print(json.dumps(figures, ensure_ascii=False, default=str))
        return 0
    finally:
        engine.dispose()


def print_case(case: FiveDayResult) -> dict[str, Any]:
    """The shortlist's figures, the days, the funnel; returns the figures."""
    first = case.first_shortlist
    top = first.shortlisted[:HEADCOUNT]
    progress = case.progress
    hits = sum(is_target_major(entry.major) for entry in top)
    print()
    print(
        f"requisition #{case.requisition_id}: 浙江科甬泰自动化科技有限公司, "
        f"{progress.headcount} graduates of 电气工程及其自动化 / 自动化 (PLC, 电气设计, CAD), "
        f"deadline {progress.deadline}"
    )
    met = "met" if first.time_to_shortlist_ms <= TARGET_MS else "MISSED"
    print(f"time-to-shortlist: {first.time_to_shortlist_ms:.1f} ms (target ≤ 1 s: {met})")
    met = "met" if case.precision_by_major >= TARGET_PRECISION else "MISSED"
    print(
        f"precision@{HEADCOUNT} by major: {case.precision_by_major:.3f} ({hits} of the top "
        f"{len(top)} in 电气类 or 自动化类; target ≥ {TARGET_PRECISION}: {met})"
    )
    majors = Counter(entry.major or "?" for entry in top)
    print("  majors of the top 30: " + ", ".join(f"{m} {n}" for m, n in majors.most_common()))
    print("  the first five picks, explained:")
    for entry in top[:5]:
        parts = entry.parts
        explanation = entry.explanation
        terms = ", ".join(term.term for term in explanation.terms[:4]) if explanation else ""
        missing = ", ".join(explanation.missing_skills) if explanation else ""
        print(
            f"  {entry.rank:>3}. {entry.external_id} {entry.major} {entry.education} "
            f"{entry.school}: score {entry.score:.3f} = text {parts.text:.3f}, major "
            f"{parts.major:.2f}, education {parts.education:.2f}, city {parts.city:.2f}, salary "
            f"{parts.salary:.2f}; shared terms {terms}; lacks {missing or 'nothing'}"
        )

    print()
    print("five simulated days (seeded outcome model; app/demo/five_day.py):")
    columns = ("contacted", "interviewed", "offered", "hired", "rejected", "withdrawn")
    print(f"  {'day':<4}{'date':<12}{'shortlisted':>12}" + "".join(f"{c:>12}" for c in columns))
    for log in case.days:
        print(
            f"  {log.day:<4}{log.date.isoformat():<12}{log.shortlisted:>12}"
            + "".join(f"{log.moves[c]:>12}" for c in columns)
        )
    print("  funnel (candidacies that reached each stage):")
    widest = max(1, *progress.reached.values())
    for stage, count in progress.reached.items():
        print(f"    {stage:<12}{count:>5}  {'#' * round(40 * count / widest)}")
    print("  now at each stage: " + ", ".join(f"{s} {progress.at_stage[s]}" for s in STAGES))
    cumulative = ", ".join(
        f"{point.day} +{point.hires} (= {point.cumulative})" for point in progress.hires_per_day
    )
    print(f"  hires per day: {cumulative or 'none'}")
    print(
        f"  status {progress.status}: {progress.hires}/{progress.headcount} hired, "
        f"{progress.remaining} to go, {progress.days_left} days left"
    )
    return {
        "requisition_id": case.requisition_id,
        "time_to_shortlist_ms": first.time_to_shortlist_ms,
        "precision_by_major": case.precision_by_major,
        "top_graduate_ids": [entry.graduate_id for entry in top],
        "funnel": progress.reached,
        "at_stage": progress.at_stage,
        "hires": progress.hires,
        "hires_per_day": [(p.day.isoformat(), p.hires) for p in progress.hires_per_day],
        "status": progress.status,
    }


def print_learning(factory: Any, *, models_dir: Path, tenant: str) -> dict[str, Any]:
    """What `jobmatch evaluate --outcomes` and `jobmatch tune --dry-run` make of the days."""
    with factory() as session:
        outcomes = read_outcomes(session, tenant=tenant)
    report = shortlist_outcomes(outcomes, k=HEADCOUNT)
    print()
    print("learning from the outcomes:")
    print(
        f"  the shortlist against hires: precision@{HEADCOUNT} {report.precision or 0:.3f} "
        f"({report.hires_in_top_k} of the top {report.top_k} hired), recall "
        f"{report.recall or 0:.3f} ({report.hires_in_top_k} of {report.hires} hires from the "
        f"top {HEADCOUNT})"
    )
    current, source = ModelStore(models_dir).live_weights(tenant)
    figures: dict[str, Any] = {
        "outcome_precision_at_30": report.precision,
        "outcome_recall_at_30": report.recall,
    }
    try:
        result = tune_weights(outcomes, current, k=HEADCOUNT)
    except TuneRefused as refused:
        print(f"  tune (dry run): refused: {refused}")
        return figures
    print("  tune (dry run: what `jobmatch tune` would fit on these outcomes):")
    for line in format_tune_result(result, source=source):
        print(f"    {line}")
    figures.update(tune_auc_before=result.auc_before, tune_auc_after=result.auc_after)
    return figures


def print_beilun(result: BeilunResult) -> dict[str, Any]:
    """The batch drive's summary and a few graduates' top jobs."""
    scores = result.top_scores()
    industries = ", ".join(
        f"{name} {result.jobs_by_industry.get(name, 0)}" for name in BEILUN_INDUSTRIES
    )
    print()
    print(
        f"Beilun drive: {len(result.graduates)} unplaced graduates × {result.jobs} open postings "
        f"({industries}; {result.jobs_in_beilun} in 北仑; {result.places:,} places)"
    )
    print(
        f"  one batch, exact top-5: indexed in {result.load_ms:.0f} ms with version "
        f"{result.version}, ranked in {result.rank_ms:.0f} ms"
    )
    share = result.matched / len(result.graduates) if result.graduates else 0.0
    print(
        f"  graduates with at least one match: {result.matched} of {len(result.graduates)} "
        f"({share:.1%}); the rest fail the hard filters (city, education, salary)"
    )
    if scores:
        q1, median, q3 = statistics.quantiles(scores, n=4) if len(scores) > 1 else [scores[0]] * 3
        print(f"  best score per graduate: median {median:.3f} (quartiles {q1:.3f}, {q3:.3f})")
    top_industry = Counter(g.picks[0].industry for g in result.graduates if g.picks)
    print("  best job's industry: " + ", ".join(f"{k} {v}" for k, v in top_industry.most_common()))
    distinct = {pick.job_id for g in result.graduates for pick in g.picks[:3]}
    print(f"  distinct postings in someone's top 3: {len(distinct)} of {result.jobs}")
    print("  examples:")
    for graduate in [g for g in result.graduates if g.picks][:3]:
        print(f"    {graduate.external_id} {graduate.major} {graduate.education}:")
        for number, pick in enumerate(graduate.picks[:3], 1):
            print(
                f"      {number}. {pick.title} @ {pick.company} ({pick.industry}, "
                f"{pick.district}) {pick.score:.3f}"
            )
    return {
        "beilun_graduates": len(result.graduates),
        "beilun_jobs": result.jobs,
        "beilun_matched": result.matched,
        "beilun_rank_ms": result.rank_ms,
    }


if __name__ == "__main__":
    sys.exit(main())
