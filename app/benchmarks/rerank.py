"""`jobmatch bench rerank`: the batch top-k of `jobmatch rerank` on 50,000 synthetic graduates
(app.demo, seeded: no public graduate texts exist) × the 31,482 real postings, top-20 both
sides, against a naive chunked `cosine_similarity` + `argsort` in the same run.

Prints per side: wall time, pairs/s (queries × candidates / seconds), queries re-run wider or
in full, peak RSS; the naive path's pairs/s and the ratio; the Dask LocalCluster wall time for
the same job; the time to store the rows (SQLite); and the greedy allocation's gap to the
exact one on the result. The default filters (open jobs, seeking graduates; education, city
and salary pair filters) are what `jobmatch rerank` runs; `--no-pair-filters` keeps only the
status filter, so every graduate–job pair goes through the sparse product (the worst case).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_JOBS = "../shared/data/jobs_zhaopin.jsonl"


def register(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `bench rerank`."""
    parser = kinds.add_parser(
        "rerank", help="batch top-k of jobmatch rerank vs a naive path", description=__doc__
    )
    parser.add_argument("--jobs", default=DEFAULT_JOBS, help="real postings JSONL (%(default)s)")
    parser.add_argument("--graduates", type=int, default=50_000, help="synthetic graduates")
    parser.add_argument("--top-k", type=int, default=20, help="matches per query (20)")
    parser.add_argument("--pool", type=int, default=80, help="candidates kept per query (80)")
    parser.add_argument("--chunk-rows", type=int, default=2048, help="queries per chunk (2048)")
    parser.add_argument("--threads", type=int, default=2, help="sparse product threads (2)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per side (median)")
    parser.add_argument(
        "--naive-rows", type=int, default=4096, help="queries per side timed on the naive path"
    )
    parser.add_argument(
        "--no-pair-filters",
        action="store_true",
        help="status filter only: every pair through the sparse product",
    )
    parser.add_argument("--skip-dask", action="store_true", help="no Dask LocalCluster run")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers (2)")
    parser.add_argument(
        "--allocation-jobs",
        type=int,
        default=3000,
        help="jobs whose pairs the exact-vs-greedy allocation uses (exact must stay cheap)",
    )
    parser.set_defaults(func=run)


def _run_all(executor: Any, side: Any, chunks: Any, spec: Any) -> dict[int, Any]:
    return dict(executor.run(side, chunks, spec))


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def load_documents(
    jobs_path: str, n_graduates: int, limit: int | None = None
) -> tuple[list[Any], list[Any]]:
    """The real postings (the first `limit`) and `n_graduates` synthetic seeking graduates."""
    from app.demo import generate_graduates
    from app.evaluation.records import graduate_from_record, job_from_record, read_jsonl

    records = islice(read_jsonl(jobs_path), limit)
    jobs = [job_from_record(n + 1, record) for n, record in enumerate(records)]
    offset = len(jobs) + 1
    graduates = [
        dataclasses.replace(graduate_from_record(offset + n, record), status="seeking")
        for n, record in enumerate(generate_graduates(n_graduates))
    ]
    return jobs, graduates


def naive_top_k(
    queries: Any, candidates: Any, ids: np.ndarray[Any, Any], k: int, rows: int
) -> float:
    """Seconds for the text top-k of `queries`: sklearn cosine_similarity on chunks of 512
    queries (a dense block), then a full argsort of each row."""
    from sklearn.metrics.pairwise import cosine_similarity

    started = time.perf_counter()
    for start in range(0, rows, 512):
        block = cosine_similarity(queries[start : start + 512], candidates)
        order = np.argsort(-block, axis=1, kind="stable")[:, :k]
        ids[order]  # the ids of the top-k, as a real path would return them
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print its numbers."""
    from app.batch.inputs import side_documents
    from app.ranking import FilterSpec, Ranker
    from app.ranking.features import Direction

    if not Path(args.jobs).exists():
        print(f"error: {args.jobs} not found")
        return 2
    results: dict[str, Any] = {}
    seconds, (jobs, graduates) = _timed(lambda: load_documents(args.jobs, args.graduates))
    print(
        f"data: {len(jobs)} real postings, {len(graduates)} synthetic graduates ({seconds:.1f} s)"
    )
    fit_seconds, ranker = _timed(lambda: Ranker().fit(jobs, graduates))
    print(f"fit: {fit_seconds:.1f} s, {len(ranker.text_model_.terms_)} terms")
    filters = (
        FilterSpec(education=False, city=False, salary=False)
        if args.no_pair_filters
        else FilterSpec()
    )
    print(f"filters: {'status only' if args.no_pair_filters else 'default'}; top-{args.top_k}")
    spec_args = {"k": args.top_k, "pool": args.pool, "filters": filters}
    sides: dict[str, Any] = {}
    total_wall = 0.0
    directions: tuple[Direction, ...] = ("jobs", "graduates")
    gather, documents = _timed(lambda: {d: side_documents(ranker, d, filters) for d in directions})
    print(f"inputs: both sides' vectors, features and sub-score ranges in {gather:.1f} s")
    results["inputs_s"] = round(gather, 2)
    for direction in directions:
        sides[direction] = time_side(
            ranker,
            direction,
            filters,
            documents,
            spec_args,
            args.chunk_rows,
            args.threads,
            args.repeat,
        )
        side_result = sides[direction]
        total_wall += side_result["wall_s"]
        print(
            f"{direction:>9} for each {'graduate' if direction == 'jobs' else 'job'}: "
            f"{side_result['queries']} × {side_result['candidates']} = "
            f"{side_result['pairs'] / 1e6:.0f} M pairs in {side_result['wall_s']:.2f} s "
            f"(median of {args.repeat}) = {side_result['pairs_per_s'] / 1e6:.0f} M pairs/s; "
            f"{side_result['rows']} rows; {side_result['widened']} queries re-run wider, "
            f"{side_result['full_recomputations']} in full; planned in "
            f"{side_result['inputs_s']:.1f} s; one chunk allocates "
            f"{side_result['chunk_bytes_per_query'] * side_result['chunk_queries'] / 2**20:.0f}"
            f" MB ({side_result['chunk_bytes_per_query'] / 1000:.1f} KB per query); "
            f"peak RSS {_peak_rss_mb():.0f} MB"
        )
    print(f"both sides: {total_wall:.2f} s")
    results["sides"] = {
        d: {k: v for k, v in s.items() if k not in ("outputs", "side", "queries_set")}
        for d, s in sides.items()
    }
    results["both_sides_s"] = round(total_wall, 2)
    results["peak_rss_mb_batch"] = round(_peak_rss_mb(), 1)

    # The naive path on the same side and queries, timed on the first --naive-rows queries.
    for label, data in sides.items():
        side, queries = data["side"], data["queries_set"]
        rows = min(args.naive_rows, len(queries))
        naive = naive_top_k(queries.vectors, side.vectors, side.ids, args.top_k, rows)
        naive_rate = rows * len(side) / naive
        ratio = data["pairs_per_s"] / naive_rate
        print(
            f"naive {label:>9}: cosine_similarity + argsort (text only) on {rows} queries: "
            f"{naive:.2f} s = {naive_rate / 1e6:.1f} M pairs/s (whole side ≈ "
            f"{naive * len(queries) / rows:.0f} s); batch top-k is {ratio:.0f}× faster"
        )
        results["sides"][label]["naive_pairs_per_s"] = naive_rate
        results["sides"][label]["naive_ratio"] = ratio
    results["peak_rss_mb_after_naive"] = round(_peak_rss_mb(), 1)
    print(f"peak RSS after the naive path: {_peak_rss_mb():.0f} MB")

    if not args.skip_dask:
        results["dask_s"] = _dask(sides, args, spec_args, ranker)
    results["store"] = _store(sides)
    results["allocation"] = _allocation(sides, ranker, args.allocation_jobs)
    print(json.dumps(results, default=float))
    return 0


def time_side(
    ranker: Any,
    direction: Any,
    filters: Any,
    documents: dict[str, Any],
    spec_args: dict[str, Any],
    chunk_rows: int,
    threads: int,
    repeat: int,
) -> dict[str, Any]:
    """One side of a batch re-rank in process: median wall time of `repeat` runs, pairs/s
    (queries × candidates / seconds), and what the chunks did."""
    from app.batch.inputs import candidate_side, other, query_set, rank_spec
    from app.batch.rerank import LocalExecutor

    started = time.perf_counter()
    side = candidate_side(ranker, direction, filters, documents[direction])
    queries = query_set(ranker, direction, filters, documents[other(direction)])
    build = time.perf_counter() - started
    spec = rank_spec(ranker, threads=threads, **spec_args)
    chunks = [(n, queries.chunk(n, chunk_rows)) for n in range(queries.chunk_count(chunk_rows))]
    executor = LocalExecutor(threads=threads)
    walls = []
    for _ in range(repeat):
        wall, outputs = _timed(partial(_run_all, executor, side, chunks, spec))
        walls.append(wall)
    wall = statistics.median(walls)
    pairs = len(queries) * len(side)
    tracemalloc.start()
    rank_chunk_peak = _chunk_memory(side, chunks[0][1], spec)
    tracemalloc.stop()
    return {
        "queries": len(queries),
        "candidates": len(side),
        "pairs": pairs,
        "inputs_s": round(build, 2),
        "wall_s": round(wall, 2),
        "walls_s": [round(w, 2) for w in walls],
        "pairs_per_s": pairs / wall,
        "rows": sum(len(out) for out in outputs.values()),
        "widened": sum(out.widened for out in outputs.values()),
        "full_recomputations": sum(out.fallbacks for out in outputs.values()),
        "chunk_queries": len(chunks[0][1]),
        "chunk_bytes_per_query": rank_chunk_peak / max(len(chunks[0][1]), 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "outputs": outputs,
        "side": side,
        "queries_set": queries,
    }


def _chunk_memory(side: Any, chunk: Any, spec: Any) -> int:
    """Peak bytes numpy allocates while one chunk is ranked (traced by tracemalloc)."""
    from app.batch.topk import rank_chunk

    rank_chunk(side, chunk, spec)  # warm the per-process caches first: they are not per chunk
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    rank_chunk(side, chunk, spec)
    _, peak = tracemalloc.get_traced_memory()
    return int(peak - before)


def _dask(sides: dict[str, Any], args: argparse.Namespace, spec_args: Any, ranker: Any) -> float:
    import logging

    from app.batch.dask_executor import DaskExecutor, dask_client
    from app.batch.inputs import rank_spec

    logging.getLogger("distributed").setLevel(logging.WARNING)
    started = time.perf_counter()
    with dask_client(None, workers=args.workers) as client:
        up = time.perf_counter() - started
        executor = DaskExecutor.for_client(client)
        wall = 0.0
        for direction, data in sides.items():
            spec = rank_spec(ranker, threads=executor.threads, **spec_args)
            chunks = [
                (n, data["queries_set"].chunk(n, args.chunk_rows))
                for n in range(data["queries_set"].chunk_count(args.chunk_rows))
            ]
            seconds, outputs = _timed(partial(_run_all, executor, data["side"], chunks, spec))
            same = all(
                np.array_equal(outputs[n].candidate_ids, data["outputs"][n].candidate_ids)
                for n in outputs
            )
            wall += seconds
            print(
                f"dask {direction:>9}: {seconds:.2f} s on a LocalCluster of {args.workers} "
                f"processes × 1 thread (up in {up:.1f} s); same rows as in-process: {same}"
            )
    print(f"dask both sides: {wall:.2f} s")
    return round(wall, 2)


def _store(sides: dict[str, Any]) -> dict[str, float]:
    """Seconds to store every chunk (rows + done mark, a transaction each) in SQLite."""
    import logging

    from app.batch import store
    from app.db import create_db_engine, create_session_factory
    from app.migrations import upgrade_database

    logging.getLogger("alembic").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade_database(url=url)
        engine = create_db_engine(url)
        factory = create_session_factory(engine)
        with factory.begin() as session:
            run_id = store.create_run(
                session, tenant="bench", sides=list(sides), params={}, chunks_total=10**6
            ).id
        rows = 0
        started = time.perf_counter()
        for direction, data in sides.items():
            for number, result in data["outputs"].items():
                with factory.begin() as session:
                    store.store_chunk(
                        session, run_id=run_id, side=direction, chunk=number, result=result
                    )
                rows += len(result)
        seconds = time.perf_counter() - started
        engine.dispose()
    print(f"store: {rows} rows in {seconds:.1f} s into SQLite ({rows / seconds:,.0f} rows/s)")
    return {"rows": rows, "seconds": round(seconds, 2)}


def _allocation(sides: dict[str, Any], ranker: Any, n_jobs: int) -> dict[str, float]:
    """Exact vs greedy on the pairs of the first `n_jobs` jobs (headcounts from the data)."""
    from app.batch.assign import Pairs, assign_exact, assign_greedy

    graduates: list[np.ndarray[Any, Any]] = []
    jobs: list[np.ndarray[Any, Any]] = []
    scores: list[np.ndarray[Any, Any]] = []
    for direction, data in sides.items():
        for result in data["outputs"].values():
            query, candidate = result.query_ids, result.candidate_ids
            graduates.append(query if direction == "jobs" else candidate)
            jobs.append(candidate if direction == "jobs" else query)
            scores.append(result.scores.astype(np.float64))
    graduate_ids, job_ids = np.concatenate(graduates), np.concatenate(jobs)
    _, first = np.unique(np.stack([graduate_ids, job_ids]), axis=1, return_index=True)
    chosen_jobs = np.unique(job_ids)[:n_jobs]
    keep = first[np.isin(job_ids[first], chosen_jobs)]
    pairs = Pairs(graduate_ids[keep], job_ids[keep], np.concatenate(scores)[keep])
    capacity = {
        int(job): int(ranker.jobs_[int(job)].headcount or 1) for job in np.unique(pairs.job_ids)
    }
    exact_s, exact = _timed(lambda: assign_exact(pairs, capacity, 1))
    greedy_s, greedy = _timed(lambda: assign_greedy(pairs, capacity, 1))
    gap = (exact.total - greedy.total) / exact.total * 100 if exact.total else 0.0
    print(
        f"allocation on {len(pairs)} pairs of {len(capacity)} jobs "
        f"({sum(capacity.values())} places): exact {exact.total:.2f} in {exact_s:.2f} s, "
        f"greedy {greedy.total:.2f} in {greedy_s:.2f} s: greedy {gap:.2f}% below the optimum"
    )
    return {
        "pairs": len(pairs),
        "exact_total": exact.total,
        "greedy_total": greedy.total,
        "gap_percent": gap,
        "exact_s": exact_s,
        "greedy_s": greedy_s,
    }
