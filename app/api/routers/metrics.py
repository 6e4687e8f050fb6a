"""/metrics: Prometheus text format, for scrapers rather than API clients (not in the OpenAPI)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from app.matching.engine import MatchEngine
from app.tables import IndexChange, MatchRun

logger = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class WorkerStateCollector(Collector):
    """What this worker holds, read at scrape time and labelled with its pid: its match
    index (size, version, lag behind the change log) and its connection pool; and, from the
    database, how long each tenant's last complete re-rank run took."""

    def __init__(
        self,
        *,
        match_engine: MatchEngine,
        db_engine: Engine,
        session_factory: sessionmaker[Session],
    ) -> None:
        self.match_engine = match_engine
        self.db_engine = db_engine
        self.session_factory = session_factory

    def collect(self) -> Iterator[Metric]:
        worker = str(os.getpid())
        snapshots = self.match_engine.snapshots()
        latest, rerank_seconds, database_up = self._read_database()

        documents = GaugeMetricFamily(
            "jobmatch_index_documents",
            "Documents in this worker's live index.",
            labels=["worker", "tenant", "kind"],
        )
        version = InfoMetricFamily(
            "jobmatch_index", "Version of this worker's live index.", labels=["worker", "tenant"]
        )
        fitted = GaugeMetricFamily(
            "jobmatch_index_fitted_timestamp_seconds",
            "When the vocabulary of this worker's index was fitted (Unix time).",
            labels=["worker", "tenant"],
        )
        lag = GaugeMetricFamily(
            "jobmatch_index_lag_changes",
            "Writes in the change log this worker's index has not applied yet.",
            labels=["worker", "tenant"],
        )
        for tenant, (snapshot, applied) in sorted(snapshots.items()):
            if snapshot is not None:
                documents.add_metric([worker, tenant, "jobs"], len(snapshot.jobs))
                documents.add_metric([worker, tenant, "graduates"], len(snapshot.graduates))
                version.add_metric([worker, tenant], {"version": snapshot.version})
                fitted.add_metric([worker, tenant], snapshot.fitted_at.timestamp())
            if tenant in latest:
                lag.add_metric([worker, tenant], max(latest[tenant] - applied, 0))
        yield from (documents, version, fitted, lag)

        reranks = GaugeMetricFamily(
            "jobmatch_rerank_last_duration_seconds",
            "Wall time of the tenant's most recent complete re-rank run.",
            labels=["tenant"],
        )
        for tenant, seconds in sorted(rerank_seconds.items()):
            reranks.add_metric([tenant], seconds)
        yield reranks
        yield GaugeMetricFamily(
            "jobmatch_metrics_database_up",
            "1 when the database answered this scrape's queries, else 0.",
            value=1 if database_up else 0,
        )

        pool = self.db_engine.pool
        if isinstance(pool, QueuePool):
            connections = GaugeMetricFamily(
                "jobmatch_db_pool_connections",
                "This worker's pooled database connections by state.",
                labels=["worker", "state"],
            )
            connections.add_metric([worker, "checked_out"], pool.checkedout())
            connections.add_metric([worker, "idle"], pool.checkedin())
            connections.add_metric([worker, "overflow"], max(pool.overflow(), 0))
            yield connections
            size = GaugeMetricFamily(
                "jobmatch_db_pool_size",
                "Connections this worker's pool keeps open.",
                labels=["worker"],
            )
            size.add_metric([worker], pool.size())
            yield size

    def _read_database(self) -> tuple[dict[str, int], dict[str, float], bool]:
        """Newest change id per tenant and the last complete re-rank's wall time per tenant."""
        try:
            with self.session_factory() as session:
                latest = {
                    tenant: int(head)
                    for tenant, head in session.execute(
                        select(IndexChange.tenant, func.max(IndexChange.id)).group_by(
                            IndexChange.tenant
                        )
                    )
                }
                newest = (
                    select(MatchRun.tenant, func.max(MatchRun.id).label("run_id"))
                    .where(MatchRun.status == "complete", MatchRun.finished_at.is_not(None))
                    .group_by(MatchRun.tenant)
                    .subquery()
                )
                runs = session.execute(
                    select(MatchRun.tenant, MatchRun.started_at, MatchRun.finished_at).join(
                        newest, MatchRun.id == newest.c.run_id
                    )
                )
                rerank_seconds = {
                    tenant: (finished - started).total_seconds()
                    for tenant, started, finished in runs
                    if finished is not None
                }
        except SQLAlchemyError as exc:
            # A scrape must answer while the database is down; the gauge below says so.
            logger.warning("metrics: database unavailable: %s", type(exc).__name__)
            return {}, {}, False
        return latest, rerank_seconds, True


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Counters and histograms of every worker, and this worker's index and pool."""
    state = request.app.state
    worker_registry = CollectorRegistry(auto_describe=False)
    worker_registry.register(
        WorkerStateCollector(
            match_engine=state.match_engine,
            db_engine=state.engine,
            session_factory=state.session_factory,
        )
    )
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several workers: sum what each one wrote to the shared folder.
        shared = CollectorRegistry()
        multiprocess.MultiProcessCollector(shared)  # type: ignore[no-untyped-call]
        body = generate_latest(shared)
    else:
        body = generate_latest(REGISTRY)
    return Response(body + generate_latest(worker_registry), media_type=PROMETHEUS_TEXT)
