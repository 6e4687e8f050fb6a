"""`jobmatch allocate`: assign seeking graduates to open jobs within headcounts, each graduate
at most --per-graduate times, maximising the total score over the pairs of the current batch
run (`jobmatch rerank`): exact up to --exact-limit candidate pairs, greedy beyond."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from app.batch.assign import EXACT_LIMIT, assign_exact, assign_greedy
from app.commands import add_tenant_option
from app.db import create_db_engine, create_session_factory
from app.errors import AppError
from app.settings import get_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `allocate` command."""
    parser = subparsers.add_parser(
        "allocate", help="assign graduates to jobs within headcounts", description=__doc__
    )
    parser.add_argument("--run", type=int, metavar="RUN_ID", help="default: the current runs")
    parser.add_argument(
        "--per-graduate", type=int, default=1, help="offers a graduate may get (default 1)"
    )
    parser.add_argument(
        "--method",
        choices=("auto", "exact", "greedy"),
        default="auto",
        help="auto: exact up to --exact-limit pairs, greedy beyond (default)",
    )
    parser.add_argument(
        "--exact-limit",
        type=int,
        default=EXACT_LIMIT,
        help="candidate pairs up to which auto solves exactly (default %(default)s)",
    )
    parser.add_argument(
        "--compare", action="store_true", help="also solve exactly and greedily; print the gap"
    )
    parser.add_argument("--out", type=Path, help="also write the assignment to FILE.csv")
    parser.add_argument("--dry-run", action="store_true", help="do not store the allocation")
    add_tenant_option(parser)
    parser.add_argument("--database-url", help="default: JOBMATCH_DATABASE_URL")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Allocate, print a summary; exit 2 when refused."""
    from app.batch.allocation import allocate, candidate_pairs, headcounts

    if args.per_graduate < 1:
        print("error: --per-graduate must be at least 1", file=sys.stderr)
        return 2
    if args.out is not None and args.out.suffix.lower() != ".csv":
        print("error: --out must end in .csv", file=sys.stderr)
        return 2
    engine = create_db_engine(args.database_url or get_settings().database_url)
    factory = create_session_factory(engine)
    try:
        with factory.begin() as session:
            outcome = allocate(
                session,
                tenant=args.tenant,
                run_id=args.run,
                per_graduate=args.per_graduate,
                method=args.method,
                exact_limit=args.exact_limit,
                save=not args.dry_run,
            )
            if args.compare:
                pairs = candidate_pairs(session, tenant=args.tenant, run_ids=outcome.run_ids)
                capacity = headcounts(
                    session, tenant=args.tenant, job_ids=sorted(set(pairs.job_ids.tolist()))
                )
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    assignment = outcome.assignment
    stored = f"allocation {outcome.allocation_id}" if outcome.allocation_id else "not stored"
    print(
        f"{stored} from match run(s) {', '.join(map(str, outcome.run_ids))}: "
        f"{len(assignment)} placements in {outcome.places} places "
        f"({outcome.jobs_filled} jobs filled), total score {assignment.total:.4f}, "
        f"{assignment.method} over {outcome.pairs} candidate pairs in {outcome.seconds:.2f} s"
    )
    if args.compare:
        exact = assign_exact(pairs, capacity, args.per_graduate)
        greedy = assign_greedy(pairs, capacity, args.per_graduate)
        gap = (exact.total - greedy.total) / exact.total * 100 if exact.total else 0.0
        print(
            f"exact {exact.total:.4f} ({len(exact)} placed), greedy {greedy.total:.4f} "
            f"({len(greedy)} placed): greedy is {gap:.3f}% below the optimum"
        )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(("graduate_id", "job_id", "score"))
            writer.writerows(
                zip(
                    assignment.graduate_ids.tolist(),
                    assignment.job_ids.tolist(),
                    assignment.scores.tolist(),
                    strict=True,
                )
            )
        print(f"wrote {len(assignment)} assignments to {args.out}")
    return 0
