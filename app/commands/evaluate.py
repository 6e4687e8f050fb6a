"""`jobmatch evaluate`: rank jobs for each graduate profile and score the ranking against
judgements, next to three baselines computed in the same run on the same tokens and held to the
same filters. `--suite` runs every visible set (dev, the seekers and campus sets built from
shared/data, the agency pools through the service layer, and those pools' graduates crossed
with the other postings) into one table; `--ablation` re-runs
the ranker over them with one text choice changed at a time; `--pool DIR` scores any pool
folder."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from app.evaluation.ablation import VARIANTS, run_ablation
from app.evaluation.cross_pools import cross_pools
from app.evaluation.pools import (
    POOL_FILES,
    AgencyPool,
    PoolFormatError,
    PoolRanking,
    evaluate_pool,
    read_pool,
)
from app.evaluation.sets import (
    LabelledSet,
    build_campus_set,
    build_seekers_set,
    read_labelled_set,
)
from app.evaluation.suite import (
    BASELINES,
    NDCG_DEPTH,
    PARTS,
    Baselines,
    SuiteResult,
    evaluate_set,
    evaluation_params,
)
from app.learning.report import add_outcome_arguments, run_outcomes
from app.matching.majors import MAJORS_CSV, load_major_table
from app.ranking import MajorTable
from app.settings import get_settings

DEV_JOBS = "data/jobs_campus.jsonl"
DEV_GRADUATES = "eval/dev/graduates.jsonl"
DEV_QRELS = "eval/dev/qrels.tsv"
SEEKERS = "data/seekers_zhilian.jsonl"
ZHAOPIN_JOBS = "data/jobs_zhaopin.jsonl"
POOLS = "eval/pools"
SUITE_PARTS = ("dev", "seekers", "campus", "pools", "cross-pools")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `evaluate` sub-command."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score the ranker and baselines against relevance judgements",
        description=__doc__,
    )
    shared = "the shared folder (JOBMATCH_SHARED_DIR)"
    parser.add_argument("--jobs", help=f"jobs JSONL (default: {DEV_JOBS} in {shared})")
    parser.add_argument(
        "--graduates", help=f"profiles JSONL (default: {DEV_GRADUATES} in {shared})"
    )
    parser.add_argument(
        "--qrels", help=f"judgements TSV or .tsv.gz (default: {DEV_QRELS} in {shared})"
    )
    parser.add_argument("--k", type=int, default=NDCG_DEPTH, help="NDCG cut-off (%(default)s)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of results")
    parser.add_argument(
        "--halves", action="store_true", help="also report the tune and held-out halves"
    )
    parser.add_argument(
        "--suite",
        action="store_true",
        help="every visible set: dev, the seekers and campus sets, the pools in eval/pools of the "
        "shared folder (and any --pool), and each pool's graduates for the other postings",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SUITE_PARTS,
        help="run only these parts of the suite (repeatable; default: all)",
    )
    parser.add_argument(
        "--pool",
        action="append",
        default=[],
        metavar="DIR",
        help=f"a pool folder ({', '.join(POOL_FILES)}) to score through the service; repeatable",
    )
    parser.add_argument(
        "--ablation",
        action="store_true",
        help=f"re-run the ranker over the suite's sets with each of {len(VARIANTS)} choices "
        "changed",
    )
    # `--outcomes` scores past shortlists against recorded hires instead (app.learning).
    add_outcome_arguments(parser)
    parser.set_defaults(func=run)


def evaluate(
    jobs_path: str | Path,
    graduates_path: str | Path,
    qrels_path: str | Path,
    *,
    k: int = NDCG_DEPTH,
    halves: bool = False,
    shared_dir: Path | None = None,
) -> dict[str, Any]:
    """Metrics of the ranker and the three baselines on one evaluation set."""
    labelled = read_labelled_set("set", jobs_path, graduates_path, qrels_path)
    majors = load_major_table(shared_dir) if shared_dir is not None else None
    result = evaluate_set(labelled, majors=majors, k=k)
    metrics = result.metrics["all"]
    report: dict[str, Any] = {
        "ranker": metrics["ranker"],
        "baselines": {name: metrics[name] for name in BASELINES},
        "ablation": {"tfidf_word_ranker_tokens": metrics["tfidf_word_ranker_tokens"]},
        "ratio_to_best_baseline": result.ratios["all"],
    }
    if halves:
        report["halves"] = {part: result.metrics[part] for part in ("tune", "held-out")}
    report["corpus"] = result.corpus
    report["seconds"] = {name: round(value, 2) for name, value in result.seconds.items()}
    return report


def run(args: argparse.Namespace) -> int:
    """Run the evaluation and print the metrics (last line JSON with --json)."""
    if args.outcomes:
        return run_outcomes(args)
    shared_dir = get_settings().shared_dir
    if args.suite or args.pool or args.ablation:
        return run_suite(args, shared_dir)
    paths = [
        args.jobs or shared_dir / DEV_JOBS,
        args.graduates or shared_dir / DEV_GRADUATES,
        args.qrels or shared_dir / DEV_QRELS,
    ]
    for path in paths:
        if not Path(path).exists():
            print(f"error: {path} does not exist", file=sys.stderr)
            return 2
    report = evaluate(*paths, k=args.k, halves=args.halves, shared_dir=shared_dir)
    rows = [("ranker", report["ranker"]), *report["baselines"].items()]
    rows += [(f"({name})", values) for name, values in report["ablation"].items()]
    keys = list(report["ranker"])
    print(f"{'':28}" + "".join(f"{key:>12}" for key in keys))
    for name, values in rows:
        print(f"{name:28}" + "".join(f"{values[key]:12.4f}" for key in keys))
    ratios = report["ratio_to_best_baseline"]
    print(f"{'ratio to best baseline':28}" + "".join(f"{(ratios[key] or 0):12.3f}" for key in keys))
    for part, systems in report.get("halves", {}).items():
        print(f"{part}: " + "  ".join(f"{key} {systems['ranker'][key]:.4f}" for key in keys))
    print(f"corpus: {report['corpus']}  seconds: {report['seconds']}")
    if args.json:
        print(orjson.dumps(report).decode())
    return 0


def visible_sets(args: argparse.Namespace, shared_dir: Path) -> tuple[list[LabelledSet], list[str]]:
    """The labelled sets whose files are there, and why the others are skipped."""
    sets: list[LabelledSet] = []
    skipped: list[str] = []
    if not args.suite and not args.ablation:
        return sets, skipped
    wanted = set(args.only or SUITE_PARTS)
    dev = [
        Path(args.jobs or shared_dir / DEV_JOBS),
        Path(args.graduates or shared_dir / DEV_GRADUATES),
        Path(args.qrels or shared_dir / DEV_QRELS),
    ]
    inputs = (
        ("dev", dev),
        ("seekers", [shared_dir / SEEKERS, shared_dir / ZHAOPIN_JOBS]),
        ("campus", [shared_dir / DEV_JOBS, shared_dir / ZHAOPIN_JOBS]),
    )
    for name, paths in inputs:
        if name not in wanted:
            continue
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            skipped.append(f"{name}: {', '.join(missing)} absent")
        elif name == "dev":
            sets.append(read_labelled_set("dev", *paths))
        elif name == "seekers":
            sets.append(build_seekers_set(*paths))
        else:
            sets.append(build_campus_set(*paths))
    return sets, skipped


def pool_folders(args: argparse.Namespace, shared_dir: Path) -> list[Path]:
    """The shared pools (with --suite or --ablation) and every --pool folder."""
    folders: list[Path] = []
    wanted = args.only or SUITE_PARTS
    if (args.suite or args.ablation) and ("pools" in wanted or "cross-pools" in wanted):
        root = shared_dir / POOLS
        if root.is_dir():
            folders += sorted(p for p in root.iterdir() if (p / "job.json").is_file())
    folders += [Path(p) for p in args.pool]
    return folders


def suite_pools(
    args: argparse.Namespace, read: Sequence[AgencyPool], majors: MajorTable | None
) -> tuple[list[AgencyPool], list[AgencyPool], list[str]]:
    """The pools to score as they are, the crossed ones, and why crossing was skipped."""
    wanted = args.only or SUITE_PARTS
    extra = len(args.pool)
    shared = list(read[: len(read) - extra])
    own = [*(shared if "pools" in wanted else []), *read[len(read) - extra :]]
    if not (args.suite or args.ablation) or "cross-pools" not in wanted:
        return own, [], []
    if majors is None:
        return own, [], [f"cross-pools: {MAJORS_CSV} absent (the labels need its classes)"]
    return own, cross_pools(read, majors.fit()), []


def run_suite(args: argparse.Namespace, shared_dir: Path) -> int:
    """The suite (and the ablation): one table, then one JSON line with --json."""
    started = time.perf_counter()
    # Each pool gets a freshly migrated database: the migration steps are noise here.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        read = [read_pool(folder) for folder in pool_folders(args, shared_dir)]
    except PoolFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sets, skipped = visible_sets(args, shared_dir)
    majors = load_major_table(shared_dir)
    pools, crossed, not_crossed = suite_pools(args, read, majors)
    warnings = [*skipped, *not_crossed]
    if evaluation_params().fields.job.industry > 0:
        warnings += [
            f"{s.name}: the job's industry field is scored, and it is the label: circular"
            for s in sets
            if s.name in ("seekers", "campus")
        ]
    # The seekers and campus sets rank the same postings: their baselines are fitted once.
    baselines: dict[str, Baselines] = {}
    set_results = [
        evaluate_set(labelled, majors=majors, baselines_by_corpus=baselines) for labelled in sets
    ]
    pool_results: list[tuple[AgencyPool, SuiteResult, PoolRanking]] = []
    for pool in [*pools, *crossed]:
        try:
            result, ranking = evaluate_pool(pool, shared_dir=shared_dir)
        except PoolFormatError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        pool_results.append((pool, result, ranking))
    report: dict[str, Any] = {
        "sets": {r.name: r.as_json() for r in set_results},
        "pools": {r.name: r.as_json() for _, r, _ in pool_results},
        "skipped": warnings,
    }
    print_suite(set_results, [r for _, r, _ in pool_results])
    if args.ablation:
        # The crossed pools stay out: a column each (twelve for the shared pools), and the
        # ablation's question (does a text choice hold on every kind of set) is asked of each
        # kind already.
        own = pool_results[: len(pools)]
        ablation = run_ablation(sets, [(pool, ranking) for pool, _, ranking in own], majors=majors)
        report["ablation"] = ablation
        print_ablation(ablation, sets, [pool for pool, _, _ in own])
    for warning in warnings:
        print(f"note: {warning}")
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(f"suite: {report['seconds']} s")
    if args.json:
        print(orjson.dumps(report).decode())
    return 0


def _cells(values: Mapping[str, float | None], keys: Sequence[str], ratio: bool = False) -> str:
    out = []
    for key in keys:
        value = values.get(key)
        if value is None:
            out.append(f"{'-':>11}")
        else:
            out.append(f"{value:10.3f}x" if ratio else f"{value:11.4f}")
    return "".join(out)


def print_suite(sets: Sequence[SuiteResult], pools: Sequence[SuiteResult]) -> None:
    """One table: a block per set, columns per part, the ranker's ratio to the best baseline."""
    width = 27
    results: list[SuiteResult] = [*sets, *pools]
    for result in results:
        print()
        if result.kind == "set":
            corpus = result.corpus
            print(
                f"== {result.name}: {corpus['queries']} queries ({corpus['held_out_queries']} "
                f"held out), {corpus['jobs']} postings, ~{corpus['eligible_per_query']} "
                f"eligible per query; labels: {result.labels}"
            )
        else:
            corpus = result.corpus
            print(
                f"== pool {result.name}: {corpus['graduates']} graduates ({corpus['eligible']} "
                f"eligible), {corpus['right_answers']} right answers "
                f"({corpus['eligible_right_answers']} eligible), {corpus['posting']}; "
                "halves: each half's ranking at half the depths"
            )
        header = f"{'system':{width}}"
        for part in PARTS:
            part_keys = list(result.metrics[part]["ranker"])
            header += f" | {part:>8}: " + "".join(f"{k:>11}" for k in part_keys)
        print(header)
        systems = [name for name in result.metrics["all"] if name != "ranker"]
        for name in ["ranker", *systems]:
            line = f"{name:{width}}"
            for part in PARTS:
                part_keys = list(result.metrics[part]["ranker"])
                line += " | " + " " * 10 + _cells(result.metrics[part][name], part_keys)
            print(line)
        line = f"{'ratio to best baseline':{width}}"
        for part in PARTS:
            part_keys = list(result.metrics[part]["ranker"])
            line += " | " + " " * 10 + _cells(result.ratios[part], part_keys, ratio=True)
        print(line)
        rows: list[tuple[str, Mapping[str, Mapping[str, float | None]], bool]] = []
        if result.kind == "pool":
            rows.append(("ceiling (a perfect order)", result.corpus["ceiling"], False))
        if result.chance:
            rows += [("chance (a random order)", result.chance, False)]
            rows += [("ratio to best, above chance", result.ratios_above_chance(), True)]
        for label, values, ratio in rows:
            line = f"{label:{width}}"
            for part in PARTS:
                part_keys = list(result.metrics[part]["ranker"])
                line += " | " + " " * 10 + _cells(values[part], part_keys, ratio=ratio)
            print(line)


def print_ablation(
    ablation: dict[str, Any], sets: Sequence[LabelledSet], pools: Sequence[AgencyPool]
) -> None:
    """Variants × sets on the tune half (NDCG@10 and MRR; P@15 and P@45 of a pool's half)."""
    columns = [(s.name, ("ndcg@10", "mrr")) for s in sets]
    columns += [(p.name, ("p@15", "p@45")) for p in pools]
    print()
    print("== ablation, tune half of every set (held-out in the JSON); seconds per variant")
    header = f"{'variant':27}" + "".join(
        f" | {name:>8} " + " ".join(f"{key:>7}" for key in keys) for name, keys in columns
    )
    print(header + " |     s")
    for variant, values in ablation.items():
        line = f"{variant:27}"
        for name, keys in columns:
            part = values["sets"][name]["tune"]
            line += " | " + " " * 9 + " ".join(f"{part[key]:7.4f}" for key in keys)
        print(line + f" | {values['seconds']:5.0f}")
