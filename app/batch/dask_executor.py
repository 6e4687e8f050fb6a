# mypy: disable-error-code="no-untyped-call"
"""Chunks on a Dask cluster: the candidate side is scattered once to every worker, then each
chunk is one task running the same `rank_chunk` as in-process; results come back as they
finish and are stored by the caller. No scheduler of our own: Dask's."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from distributed import Client, LocalCluster, as_completed

from app.batch.sides import CandidateSide, ChunkResult, QueryChunk, RankSpec
from app.batch.topk import rank_chunk

logger = logging.getLogger(__name__)

# Tasks in flight per worker thread: enough to keep workers busy while results are stored,
# few enough that finished results do not pile up in the driver's memory.
IN_FLIGHT_PER_THREAD = 2


@dataclass(slots=True)
class DaskExecutor:
    """Runs chunks as tasks of a Dask client; `threads` is the sparse product's threads per
    task (the workers' threads each, so one task per thread does not oversubscribe)."""

    client: Client
    threads: int

    @staticmethod
    def for_client(client: Client) -> DaskExecutor:
        """An executor whose tasks use as many threads as the smallest worker has."""
        workers = client.scheduler_info()["workers"].values()
        threads = min((int(worker["nthreads"]) for worker in workers), default=1)
        return DaskExecutor(client=client, threads=max(1, threads))

    def run(
        self, side: CandidateSide, chunks: list[tuple[int, QueryChunk]], spec: RankSpec
    ) -> Iterator[tuple[int, ChunkResult]]:
        """Submit every chunk (a bounded number at a time); yield results as they finish."""
        if not chunks:
            return
        spec = replace(spec, threads=self.threads)
        shared = self.client.scatter(side, broadcast=True)
        workers = self.client.scheduler_info()["workers"].values()
        limit = max(1, IN_FLIGHT_PER_THREAD * sum(int(w["nthreads"]) for w in workers))
        pending = iter(chunks)
        numbers = {}
        running = as_completed()
        for number, chunk in _take(pending, limit):
            future = self.client.submit(rank_chunk, shared, chunk, spec, pure=False)
            numbers[future.key] = number
            running.add(future)
        for future in running:
            result: ChunkResult = future.result()
            yield numbers.pop(future.key), result
            for number, chunk in _take(pending, 1):
                following = self.client.submit(rank_chunk, shared, chunk, spec, pure=False)
                numbers[following.key] = number
                running.add(following)
        self.client.cancel(shared)


def _take(chunks: Iterator[tuple[int, QueryChunk]], n: int) -> Iterator[tuple[int, QueryChunk]]:
    for _ in range(n):
        item = next(chunks, None)
        if item is None:
            return
        yield item


@contextmanager
def dask_client(scheduler: str | None, *, workers: int = 2) -> Iterator[Client]:
    """A client of the scheduler at `scheduler` (host:port), or of a LocalCluster of `workers`
    single-threaded processes on 127.0.0.1 when none is given."""
    if scheduler:
        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
