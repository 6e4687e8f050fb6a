"""`jobmatch bench`: benchmarks that print numbers (never timed tests). `bench ranking` measures
tokenisation, fitting, one-query and batch top-k of the ranking core."""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

DEFAULT_JOBS = "../shared/data/jobs_zhaopin.jsonl"
DEFAULT_GRADUATES = "../shared/eval/dev/graduates.jsonl"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `bench` and its sub-commands (ranking, api, …)."""
    parser = subparsers.add_parser("bench", help="print performance numbers", description=__doc__)
    kinds = parser.add_subparsers(dest="bench", required=True, metavar="KIND")
    ranking = kinds.add_parser("ranking", help="tokenise, fit and top-k speed of the ranking core")
    ranking.add_argument("--jobs", default=DEFAULT_JOBS, help="postings JSONL (%(default)s)")
    ranking.add_argument(
        "--graduates", default=DEFAULT_GRADUATES, help="profiles JSONL (%(default)s)"
    )
    ranking.add_argument("--scale", type=int, default=100_000, help="postings after scaling up")
    ranking.add_argument("--queries", type=int, default=500, help="single queries to time")
    ranking.add_argument("--batch", type=int, default=10_000, help="graduates in the batch run")
    ranking.add_argument(
        "--tokenize-mb", type=float, default=4.0, help="MB of text for the tokeniser comparison"
    )
    ranking.set_defaults(func=run_ranking)
    # Each further benchmark lives in app/benchmarks/ and registers its own sub-command.
    from app.benchmarks import api, rerank, suite

    suite.register(kinds)
    api.register(kinds)
    rerank.register(kinds)
    try:
        from app.benchmarks import load
    except ImportError as missing:  # its HTTP client comes with the test extra
        _unavailable(kinds, "load", f"needs {missing.name}: run `make install-dev` first")
    else:
        load.register(kinds)


def _unavailable(
    kinds: argparse._SubParsersAction[argparse.ArgumentParser], name: str, reason: str
) -> None:
    """A sub-command whose dependencies are not installed: it says so in one line."""
    parser = kinds.add_parser(name, help=f"(unavailable: {reason})")

    def explain(args: argparse.Namespace) -> int:
        print(f"error: jobmatch bench {name} {reason}", file=sys.stderr)
        return 2

    parser.set_defaults(func=explain)


def _timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def run_ranking(args: argparse.Namespace) -> int:
    """Run the ranking benchmark and print its numbers."""
    from app.benchmarks.corpus import with_stated_fit
    from app.benchmarks.tokenise import posting_texts
    from app.evaluation.records import graduate_from_record, job_from_record, read_jsonl
    from app.ranking import FilterSpec, Ranker, RankerParams, Tokenizer

    if not Path(args.jobs).exists() or not Path(args.graduates).exists():
        print(f"error: need {args.jobs} and {args.graduates}", file=sys.stderr)
        return 2
    jobs = [job_from_record(n, r) for n, r in enumerate(read_jsonl(args.jobs))]
    graduates = [graduate_from_record(n, r) for n, r in enumerate(read_jsonl(args.graduates))]
    print(f"data: {len(jobs)} postings from {args.jobs}, {len(graduates)} profiles")

    # 1. Tokenisation: the same texts through jieba and the backend in use.
    texts = posting_texts(jobs, args.tokenize_mb)
    megabytes = sum(len(text.encode()) for text in texts) / 1e6
    speeds: dict[str, float] = {}
    for backend in ("jieba", "rjieba"):
        tokenizer = Tokenizer(backend=backend)
        tokenizer.tokenize("预热")  # dictionary load is a one-off, not throughput
        seconds = min(_timed(partial(tokenizer.tokenize_many, texts))[0] for _ in range(2))
        speeds[backend] = megabytes / seconds
    in_use = Tokenizer().backend_in_use
    print(
        f"tokenise {megabytes:.1f} MB: jieba {speeds['jieba']:.2f} MB/s, rjieba "
        f"{speeds['rjieba']:.2f} MB/s (×{speeds['rjieba'] / speeds['jieba']:.1f}); in use: {in_use}"
    )

    # 2. Fit on the real postings (tokenising included), and the parts of it.
    params = RankerParams()
    fit_seconds, ranker = _timed(lambda: Ranker(params).fit(jobs))
    model = ranker.text_model_
    tokens_seconds, token_lists = _timed(lambda: [model.job_tokens(j) for j in jobs])
    vec_seconds, _ = _timed(lambda: model.fit_tokens(token_lists))
    print(
        f"fit {len(jobs)} postings: {fit_seconds:.2f} s (tokenise {tokens_seconds:.2f} s, "
        f"TfidfVectorizer fit {vec_seconds:.2f} s); {len(model.terms_)} terms, "
        f"max_df={params.max_df}"
    )

    # 3. Scale up to --scale postings by repeating the real ones under new ids.
    repeats = -(-args.scale // len(jobs))
    scaled_fit, _ = _timed(lambda: model.fit_tokens((token_lists * repeats)[: args.scale]))
    vectors = model.transform_tokens(token_lists)
    big_vectors = sp.vstack([vectors] * repeats, format="csr")[: args.scale]
    big_jobs = [dataclasses.replace(jobs[i % len(jobs)], id=i) for i in range(big_vectors.shape[0])]
    index_seconds, _ = _timed(lambda: _index(ranker, big_jobs, big_vectors))
    estimated = tokens_seconds * args.scale / len(jobs) + scaled_fit + index_seconds
    print(
        f"fit {args.scale} postings: TfidfVectorizer {scaled_fit:.2f} s"
        f" + index {index_seconds:.2f} s"
        f" + tokenise (scaled from above) {tokens_seconds * args.scale / len(jobs):.2f} s"
        f" = {estimated:.2f} s"
    )

    # 4. One query top-10 over the scaled index: the pruned path against every candidate scored
    # (the method before pruning), interleaved so load falls on both alike, and the text alone.
    queries = [graduates[i % len(graduates)] for i in range(args.queries)]
    query_vectors = model.transform_graduates(queries)
    filters = FilterSpec()
    for graduate in queries[:20]:
        ranker.jobs_for_graduate(graduate, 10, filters=filters, explain=False)
    ranker.upsert_graduates([dataclasses.replace(g, id=-1 - i) for i, g in enumerate(queries)])
    plain = _one_query_times(ranker, [-1 - i for i in range(len(queries))])
    fresh = []
    for graduate in queries[:100]:
        call = partial(ranker.jobs_for_graduate, graduate, 10, filters=filters, explain=False)
        fresh.append(_timed(call)[0] * 1e3)
    index = ranker.jobs_index_
    ids = index.ids
    naive = []
    ours_text = []
    for row in range(min(100, len(queries))):
        query = query_vectors[row]
        naive.append(_timed(partial(_naive_top10, query, big_vectors, ids))[0] * 1e3)
        ours_text.append(_timed(partial(_text_top10, index, query, ids))[0] * 1e3)
    print(
        f"one query top-10 over {len(ids)} postings (indexed graduate; text + structured fit + "
        f"filters), {len(queries)} queries:"
    )
    _print_times("  pruned (exact)", plain)
    print(
        f"  a new profile (tokenised in the call): p50 {statistics.median(fresh):.2f} ms, "
        f"p99 {_percentile(fresh, 99):.2f} ms"
    )
    print(
        f"  text only (cosine + top-k): p50 {statistics.median(ours_text):.2f} ms, "
        f"p99 {_percentile(ours_text, 99):.2f} ms; naive "
        f"baseline (vector · matrixᵀ, full argsort): p50 {statistics.median(naive):.2f} ms"
    )
    # The profiles above state no major, desired city or salary, so most sub-scores are the
    # same for every posting; the same texts with them make the structured part matter.
    stated = with_stated_fit(queries, jobs)
    ranker.upsert_graduates([dataclasses.replace(g, id=-1 - i) for i, g in enumerate(stated)])
    stated_times = _one_query_times(ranker, [-1 - i for i in range(len(queries))])
    _print_times("  with a major, two desired cities, a salary", stated_times)

    # 5. Batch top-10 for --batch graduates over the scaled index.
    batch = [dataclasses.replace(graduates[i % len(graduates)], id=i) for i in range(args.batch)]
    ranker.upsert_graduates(batch)
    ids_batch = [g.id for g in batch]
    batch_seconds, _ = _timed(
        lambda: ranker.jobs_for_graduates(ids_batch, 10, filters=filters, explain=False)
    )
    sample = ids_batch[: min(len(ids_batch), 1000)]
    sample_seconds, _ = _timed(
        lambda: ranker.jobs_for_graduates(sample, 10, filters=filters, exhaustive=True)
    )
    print(
        f"batch top-10: {args.batch} graduates × {len(ids)} postings in {batch_seconds:.1f} s "
        f"({batch_seconds / args.batch * 1e3:.2f} ms per graduate, "
        f"{args.batch / batch_seconds:.0f} graduates/s); every candidate scored: "
        f"{sample_seconds / len(sample) * 1e3:.2f} ms per graduate (first {len(sample)})"
    )
    return 0


class QueryTimes(NamedTuple):
    """Milliseconds per query: pruned (wall clock and this thread's CPU) and exhaustive."""

    pruned: list[float]
    pruned_cpu: list[float]
    exhaustive: list[float]
    differ: int


def _one_query_times(ranker: Any, graduate_ids: Sequence[int]) -> QueryTimes:
    """Each query pruned and exhaustive, timed back to back, and how many results differ."""
    times = QueryTimes([], [], [], 0)
    differ = 0
    for graduate_id in graduate_ids:
        fast = partial(ranker.jobs_for_graduate, graduate_id, 10, explain=False)
        cpu = time.thread_time()
        seconds, got = _timed(fast)
        times.pruned_cpu.append((time.thread_time() - cpu) * 1e3)
        times.pruned.append(seconds * 1e3)
        seconds, expected = _timed(partial(fast, exhaustive=True))
        times.exhaustive.append(seconds * 1e3)
        differ += got != expected
    return times._replace(differ=differ)


def _print_times(label: str, times: QueryTimes) -> None:
    p50, slow = statistics.median(times.pruned), statistics.median(times.exhaustive)
    same = "identical results" if times.differ == 0 else f"{times.differ} RESULTS DIFFER"
    # On a shared machine the wall-clock tail is mostly waiting for a core; CPU time shows
    # what the query itself costs.
    print(
        f"{label}: p50 {p50:.2f} ms, p99 {_percentile(times.pruned, 99):.2f} ms "
        f"(CPU time p99 {_percentile(times.pruned_cpu, 99):.2f} ms); every candidate scored: "
        f"p50 {slow:.2f} ms, p99 {_percentile(times.exhaustive, 99):.2f} ms "
        f"(×{slow / p50:.1f}); {same}"
    )


def _index(ranker: Any, jobs: Sequence[Any], vectors: sp.csr_matrix) -> None:
    """Replace the ranker's job index with the given documents and vectors."""
    ranker._start(ranker.text_model_)
    ranker._upsert_jobs(jobs, vectors)
    ranker.jobs_index_.compact()


def _text_top10(index: Any, query: sp.csr_matrix, ids: Any) -> Any:
    from app.ranking.index import topk_rows

    return topk_rows(index.cosine(query)[0], ids, 10)


def _naive_top10(query: sp.csr_matrix, matrix: sp.csr_matrix, ids: Any) -> Any:
    scores = (matrix @ query.T).toarray().ravel()
    order = np.lexsort((ids, -scores))
    return order[:10]
