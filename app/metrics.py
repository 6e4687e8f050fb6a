"""Prometheus metrics recorded by the service, its match index and the importer.

Counters and histograms live in this module so any layer can record without knowing HTTP.
With several uvicorn workers, `jobmatch serve` points PROMETHEUS_MULTIPROC_DIR at a fresh
folder before the workers start: each worker writes its samples there and /metrics sums
them over all workers. What describes one worker's memory (its index, its connection pool)
is read when /metrics is scraped and labelled with that worker's pid.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "jobmatch_http_requests",
    "HTTP requests answered, by route template (not the raw path) and status.",
    ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "jobmatch_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by route template.",
    ["method", "route"],
)
MATCH_SECONDS = Histogram(
    "jobmatch_match_duration_seconds",
    "Time to rank candidates on the live index (catch-up with recent writes included).",
    ["direction"],
)
REFIT_SECONDS = Histogram(
    "jobmatch_refit_duration_seconds",
    "Time to fit, publish and swap in a new index version, by outcome.",
    ["outcome"],
)
RECORDS_UPSERTED = Counter(
    "jobmatch_records_upserted",
    "Records written by bulk requests and file imports, by kind and result.",
    ["kind", "channel", "status"],
)


@contextmanager
def timed(histogram: Histogram, **labels: str) -> Iterator[None]:
    """Observe the wall time of the block, also when it raises."""
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.labels(**labels).observe(time.perf_counter() - started)
