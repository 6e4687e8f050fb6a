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
from typing import Any

import numpy as np
import scipy.sparse as sp

DEFAULT_JOBS = "../shared/data/jobs_zhaopin.jsonl"
DEFAULT_GRADUATES = "../shared/eval/dev/graduates.jsonl"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `bench` and its `ranking` sub-command."""
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


def _timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def run_ranking(args: argparse.Namespace) -> int:
    """Run the ranking benchmark and print its numbers."""
    from app.commands.evaluate import graduate_from_record, job_from_record, read_jsonl
    from app.ranking import FilterSpec, Ranker, RankerParams, Tokenizer

    if not Path(args.jobs).exists() or not Path(args.graduates).exists():
        print(f"error: need {args.jobs} and {args.graduates}", file=sys.stderr)
        return 2
    jobs = [job_from_record(n, r) for n, r in enumerate(read_jsonl(args.jobs))]
    graduates = [graduate_from_record(n, r) for n, r in enumerate(read_jsonl(args.graduates))]
    print(f"data: {len(jobs)} postings from {args.jobs}, {len(graduates)} profiles")

    # 1. Tokenisation: the same texts through jieba and the backend in use.
    texts: list[str] = []
    size = 0
    for job in jobs:
        text = f"{job.title} {' '.join(job.skills)} {job.description}"
        texts.append(text)
        size += len(text.encode())
        if size >= args.tokenize_mb * 1e6:
            break
    megabytes = size / 1e6
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

    # 4. One query top-10 over the scaled index, against a naive full sort on the same scores.
    queries = [graduates[i % len(graduates)] for i in range(args.queries)]
    query_vectors = model.transform_graduates(queries)
    filters = FilterSpec()
    for graduate in queries[:20]:
        ranker.jobs_for_graduate(graduate, 10, filters=filters, explain=False)
    ranker.upsert_graduates([dataclasses.replace(g, id=-1 - i) for i, g in enumerate(queries)])
    latencies = []
    for i in range(len(queries)):
        call = partial(ranker.jobs_for_graduate, -1 - i, 10, filters=filters, explain=False)
        latencies.append(_timed(call)[0] * 1e3)
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
    p50, p99 = statistics.median(latencies), _percentile(latencies, 99)
    print(
        f"one query top-10 over {len(ids)} postings (indexed graduate; text + structured fit + "
        f"filters): p50 {p50:.2f} ms, p99 {p99:.2f} ms; a new profile (tokenised in the call): "
        f"p50 {statistics.median(fresh):.2f} ms"
    )
    print(
        f"  text-only top-10: p50 {statistics.median(ours_text):.2f} ms; naive baseline "
        f"(vector · matrixᵀ, full argsort): p50 {statistics.median(naive):.2f} ms "
        f"(×{statistics.median(naive) / statistics.median(ours_text):.1f})"
    )

    # 5. Batch top-10 for --batch graduates over the scaled index.
    batch = [dataclasses.replace(graduates[i % len(graduates)], id=i) for i in range(args.batch)]
    ranker.upsert_graduates(batch)
    ids_batch = [g.id for g in batch]
    batch_seconds, _ = _timed(
        lambda: ranker.jobs_for_graduates(ids_batch, 10, filters=filters, explain=False)
    )
    print(
        f"batch top-10: {args.batch} graduates × {len(ids)} postings in {batch_seconds:.1f} s "
        f"({batch_seconds / args.batch * 1e3:.2f} ms per graduate; "
        f"one-at-a-time p50 would be {p50 * args.batch / 1e3:.1f} s)"
    )
    return 0


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
