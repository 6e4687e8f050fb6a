"""One corpus size, measured in a process of its own (so its peak RSS is its own): build, one
query top-10 (ours, scipy `q @ J.T` + argpartition, bm25s), one online add, peak RSS.

The corpus is made as the fit reads it (iter_scaled_postings) and the ranker keeps no
documents, only vectors and encoded features: the peak RSS is the index's and the fit's, not a
list of a million documents'. The baselines make it again.

Ours is the whole query: text cosine, structured fit, filters, top-10, of a graduate already
indexed (as a server holds them). The two baselines rank by text alone on the same query set:
scipy on our own TF-IDF vectors, bm25s on our own token lists, both with one thread.
"""

from __future__ import annotations

import dataclasses
import resource
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from app.benchmarks.corpus import (
    iter_scaled_postings,
    read_postings,
    read_query_profiles,
    scale_postings,
)
from app.ranking import JobDocument


@dataclasses.dataclass(frozen=True, slots=True)
class SizeSpec:
    """What to measure at one size (picklable: it crosses into the child process)."""

    shared_dir: Path
    size: int
    queries: int
    adds: int
    baselines: bool = True
    real_limit: int | None = None


def peak_rss_mb() -> float:
    """This process's peak resident set (ru_maxrss is in kilobytes on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class CallTimes(NamedTuple):
    """Milliseconds per call: wall clock, and this thread's CPU time (on a shared machine the
    wall clock includes waiting for a core; CPU time is what the call itself costs)."""

    wall: list[float]
    cpu: list[float]


def latency_summary(times: CallTimes) -> dict[str, float]:
    """p50, p99, mean and one thread's throughput of per-call times, wall and CPU."""
    wall = np.asarray(times.wall, dtype=np.float64)
    cpu = np.asarray(times.cpu, dtype=np.float64)
    return {
        "p50_ms": float(np.percentile(wall, 50)),
        "p99_ms": float(np.percentile(wall, 99)),
        "mean_ms": float(wall.mean()),
        "per_s": float(1000 * len(wall) / wall.sum()) if wall.sum() else 0.0,
        "cpu_p50_ms": float(np.percentile(cpu, 50)),
        "cpu_p99_ms": float(np.percentile(cpu, 99)),
        "calls": len(wall),
    }


def _time_each(calls: Sequence[Callable[[], Any]]) -> CallTimes:
    out = CallTimes([], [])
    for call in calls:
        started, cpu = time.perf_counter(), time.thread_time()
        call()
        out.wall.append((time.perf_counter() - started) * 1e3)
        out.cpu.append((time.thread_time() - cpu) * 1e3)
    return out


class _TimedIterator(Iterator[JobDocument]):
    """An iterator that adds up the wall and thread CPU time spent producing its items."""

    def __init__(self, items: Iterator[JobDocument]) -> None:
        self.items = items
        self.wall = 0.0
        self.cpu = 0.0

    def __next__(self) -> JobDocument:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return next(self.items)
        finally:
            self.wall += time.perf_counter() - started
            self.cpu += time.thread_time() - cpu


def measure_size(spec: SizeSpec) -> dict[str, Any]:
    """Every figure of one corpus size (run it in a fresh process for a clean peak RSS)."""
    from app.ranking import Ranker

    real = read_postings(spec.shared_dir, spec.real_limit)
    profiles = read_query_profiles(spec.shared_dir, real)
    queries = [
        dataclasses.replace(profiles[i % len(profiles)], id=-1 - i) for i in range(spec.queries)
    ]
    result: dict[str, Any] = {"postings": spec.size, "rss_documents_mb": peak_rss_mb()}

    def jobs() -> Iterator[JobDocument]:
        return iter_scaled_postings(real, spec.size)

    # The corpus is made while the fit reads it (so it is never all in memory); making it is
    # the bench's work, not the build's, so its time is taken off (a service reads stored rows).
    corpus = _TimedIterator(jobs())
    started, cpu = time.perf_counter(), time.thread_time()
    ranker = Ranker(keep_documents=False).fit(corpus)
    result["build_s"] = time.perf_counter() - started - corpus.wall
    result["build_cpu_s"] = time.thread_time() - cpu - corpus.cpu
    result["corpus_generation_s"] = corpus.wall
    result["terms"] = len(ranker.text_model_.terms_)
    ranker.upsert_graduates(queries)

    ids = [q.id for q in queries]
    ours = [partial(ranker.jobs_for_graduate, gid, 10, explain=False) for gid in ids]
    _time_each(ours[: min(20, len(ours))])  # warm-up: first-call caches, not steady state
    result["ours"] = latency_summary(_time_each(ours))
    result["peak_rss_mb"] = peak_rss_mb()

    adds = scale_postings(real, spec.adds, first_id=spec.size + 1)
    add_times, after_times = CallTimes([], []), CallTimes([], [])
    for number, job in enumerate(adds):
        for total, call in (
            (add_times, partial(ranker.upsert_jobs, [job])),
            (after_times, ours[number % len(ours)]),
        ):
            one = _time_each([call])
            total.wall.extend(one.wall)
            total.cpu.extend(one.cpu)
    result["online_add"] = latency_summary(add_times)
    result["query_after_add"] = latency_summary(after_times)

    if spec.baselines:
        result.update(_baselines(ranker, list(jobs()), queries))
    result["peak_rss_mb_with_baselines"] = peak_rss_mb()
    return result


def _baselines(ranker: Any, jobs: Sequence[Any], queries: Sequence[Any]) -> dict[str, Any]:
    """scipy and bm25s on the same tokens and vectors, text only, top-10."""
    import bm25s

    model = ranker.text_model_
    started = time.perf_counter()
    job_tokens = [model.job_tokens(job) for job in jobs]
    tokenise_s = time.perf_counter() - started
    # Transposed once, as a serving path would keep it: `q @ J.T` then costs the product only.
    matrix_t = sp.csr_matrix(model.transform_tokens(job_tokens).T)
    query_tokens = [model.graduate_tokens(q) for q in queries]
    query_vectors = model.transform_tokens(query_tokens)
    ids = np.asarray([job.id for job in jobs], dtype=np.int64)

    def scipy_top10(row: int) -> Any:
        scores = (query_vectors[row] @ matrix_t).toarray().ravel()
        best = np.argpartition(-scores, 10)[:10]
        return ids[best[np.argsort(-scores[best], kind="stable")]]

    retriever = bm25s.BM25()
    started = time.perf_counter()
    retriever.index([t or ["\x00"] for t in job_tokens], show_progress=False)
    bm25_index_s = time.perf_counter() - started

    def bm25_top10(row: int) -> Any:
        return retriever.retrieve(
            [query_tokens[row] or ["\x00"]], k=10, show_progress=False, n_threads=1
        )

    rows = range(len(queries))
    scipy_times = _time_each([partial(scipy_top10, row) for row in rows])
    bm25_times = _time_each([partial(bm25_top10, row) for row in rows])
    return {
        "scipy": latency_summary(scipy_times),
        "bm25s": latency_summary(bm25_times) | {"index_s": bm25_index_s},
        "retokenise_s": tokenise_s,
        "matrix_nnz": int(matrix_t.nnz),
    }
