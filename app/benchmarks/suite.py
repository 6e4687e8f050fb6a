"""`jobmatch bench all [--quick]`: every figure of issue 12 in one run, each beside its peers,
written to bench/report.md, bench/results.json and PNG plots (see app.benchmarks.report).

Each corpus size runs in a fresh process, so its peak RSS is its own; the other parts run in
this process one after another. The machine's load average is recorded at the start and end:
on a shared machine every figure moves with it.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from app.benchmarks.scale import SizeSpec, measure_size


@dataclass(frozen=True, slots=True)
class Plan:
    """How much of each figure a run measures."""

    tokenise_mb: float
    tokenise_jieba_texts: int
    repeats: int
    sizes: tuple[int, ...]
    queries: int
    adds: int
    batch_graduates: int
    batch_naive_rows: int
    http_postings: int
    http_graduates: int
    http_connections: tuple[int, ...]
    http_duration_s: float
    http_workers: int = 2
    http_goal_connections: int = 16
    baselines: bool = True


FULL = Plan(
    tokenise_mb=4.0,
    tokenise_jieba_texts=800,
    repeats=5,
    sizes=(10_000, 100_000, 1_000_000),
    queries=500,
    adds=100,
    batch_graduates=50_000,
    batch_naive_rows=4096,
    http_postings=100_000,
    http_graduates=2_000,
    http_connections=(1, 4, 16, 64),
    http_duration_s=10,
)
QUICK = Plan(
    tokenise_mb=1.0,
    tokenise_jieba_texts=300,
    repeats=3,
    sizes=(10_000, 100_000),
    queries=100,
    adds=20,
    # 2,000 × 31k pairs a side: the batch part took 90 of a quick run's 210 s with 5,000.
    batch_graduates=2_000,
    batch_naive_rows=1024,
    http_postings=10_000,
    http_graduates=300,
    http_connections=(4, 16),
    http_duration_s=3,
)


def register(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `bench all`."""
    parser = kinds.add_parser(
        "all", help="every figure in one run: bench/report.md, results.json, plots"
    )
    parser.add_argument(
        "--quick", action="store_true", help="about 2 minutes: smaller corpora, fewer repeats"
    )
    parser.add_argument("--out", type=Path, default=Path("bench"), help="output folder (bench)")
    parser.add_argument("--shared-dir", type=Path, help="default: JOBMATCH_SHARED_DIR")
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["tokenise", "sizes", "batch", "http"]
    )
    parser.add_argument("--sizes", type=int, nargs="+", help="corpus sizes instead of the plan's")
    parser.add_argument(
        "--no-baselines", action="store_true", help="sizes: ours only (no scipy, no bm25s)"
    )
    parser.set_defaults(func=run)
    merge = kinds.add_parser(
        "report", help="one report from the results.json of several partial `bench all` runs"
    )
    merge.add_argument("parts", type=Path, nargs="+", help="results.json files")
    merge.add_argument("--out", type=Path, default=Path("bench"), help="output folder (bench)")
    merge.set_defaults(func=run_merge)


def measure_all(
    plan: Plan, shared_dir: Path, *, skip: tuple[str, ...] = (), real_limit: int | None = None
) -> dict[str, Any]:
    """Every figure the plan asks for; `real_limit` caps the real postings read (for tests)."""
    from app.benchmarks.api import measure_http
    from app.benchmarks.batch import measure_batch
    from app.benchmarks.corpus import JOBS_FILE, read_postings
    from app.benchmarks.tokenise import measure_tokenise, posting_texts

    started = time.perf_counter()
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "plan": asdict(plan),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_start": os.getloadavg(),
        },
        "seconds": {},
    }

    def timed_part(name: str, work: Any) -> None:
        if name in skip:
            return
        part_started = time.perf_counter()
        results[name] = work()
        results["seconds"][name] = time.perf_counter() - part_started

    real = read_postings(shared_dir, real_limit)
    timed_part(
        "tokenise",
        lambda: measure_tokenise(
            posting_texts(real, plan.tokenise_mb),
            repeats=plan.repeats,
            jieba_texts=plan.tokenise_jieba_texts,
        ),
    )
    timed_part("sizes", lambda: _measure_sizes(plan, shared_dir, real_limit))
    timed_part(
        "batch",
        lambda: measure_batch(
            shared_dir,
            graduates=plan.batch_graduates,
            repeat=plan.repeats,
            naive_rows=plan.batch_naive_rows,
            real_limit=real_limit,
        ),
    )
    timed_part(
        "http",
        lambda: measure_http(
            shared_dir / JOBS_FILE,
            scale=plan.http_postings,
            graduates=plan.http_graduates,
            workers=plan.http_workers,
            connections=plan.http_connections,
            duration=plan.http_duration_s,
            goal_connections=plan.http_goal_connections,
        ),
    )
    results["machine"]["load_average_end"] = os.getloadavg()
    results["seconds"]["total"] = time.perf_counter() - started
    return results


def _measure_sizes(plan: Plan, shared_dir: Path, real_limit: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for size in plan.sizes:
        spec = SizeSpec(
            shared_dir, size, plan.queries, plan.adds, plan.baselines, real_limit=real_limit
        )
        # A fresh process per size: its peak RSS is this size's alone.
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            out[str(size)] = pool.submit(measure_size, spec).result()
    return out


def run(args: argparse.Namespace) -> int:
    """Measure, then write the report, the JSON and the plots."""
    from app.benchmarks.report import write_report
    from app.settings import get_settings

    shared_dir = args.shared_dir or get_settings().shared_dir
    if not (shared_dir / "data").is_dir():
        print(f"error: {shared_dir}/data not found (set JOBMATCH_SHARED_DIR or --shared-dir)")
        return 2
    plan = QUICK if args.quick else FULL
    if args.sizes:
        plan = replace(plan, sizes=tuple(args.sizes))
    if args.no_baselines:
        plan = replace(plan, baselines=False)
    results = measure_all(plan, shared_dir, skip=tuple(args.skip))
    results["mode"] = "quick" if args.quick else "full"
    written = write_report(results, args.out)
    for path in written:
        print(f"wrote {path}")
    return 0


def merge_results(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Partial runs as one: each figure from the part that measured it, sizes pooled, the
    load averages of every part kept."""
    merged: dict[str, Any] = {"sizes": {}, "seconds": {}, "parts": []}
    for part in parts:
        merged["parts"].append(
            {key: part.get(key) for key in ("started_at", "mode", "plan", "machine")}
        )
        for key, value in part.items():
            if key == "sizes":
                merged["sizes"].update(value)
            elif key == "seconds":
                merged["seconds"].update({k: v for k, v in value.items() if k != "total"})
            elif key not in merged:
                merged[key] = value
    if not merged["sizes"]:
        del merged["sizes"]
    loads = [p["machine"]["load_average_start"][0] for p in parts if "machine" in p]
    loads += [p["machine"]["load_average_end"][0] for p in parts if "machine" in p]
    merged["machine"] = {
        **parts[0].get("machine", {}),
        "load_average_start": [min(loads)],
        "load_average_end": [max(loads)],
    }
    merged["seconds"]["total"] = max(p.get("seconds", {}).get("total", 0) for p in parts)
    merged["mode"] = "+".join(sorted({str(p.get("mode")) for p in parts}))
    return merged


def run_merge(args: argparse.Namespace) -> int:
    """Merge partial results and write the report."""
    import json

    from app.benchmarks.report import write_report

    parts = [json.loads(path.read_text("utf-8")) for path in args.parts]
    for path in write_report(merge_results(parts), args.out):
        print(f"wrote {path}")
    return 0
