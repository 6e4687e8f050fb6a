"""Typed settings read from the environment (prefix JOBMATCH_) or a .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.db import ConnectionLimits

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """Every knob of the service; each maps to an environment variable JOBMATCH_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="JOBMATCH_", env_file=".env", extra="ignore")

    host: str = Field("127.0.0.1", description="Interface the HTTP server binds to.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port of the HTTP server.")
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes for `serve`.")
    database_url: str = Field(
        "sqlite:///./var/jobmatch.db",
        description="SQLAlchemy URL; SQLite by default, postgresql+psycopg://… for production.",
    )
    models_dir: Path = Field(Path("models"), description="Folder of fitted ranking artifacts.")
    shared_dir: Path = Field(
        Path("../shared"), description="Folder of the public data and lexicons (read only)."
    )
    log_level: LogLevel = Field("INFO", description="Root log level.")
    # On unless switched off: a deployment that forgets the variable is closed, not open.
    auth: Literal["on", "off"] = Field(
        "on",
        description="on: every /v1 request needs `Authorization: Bearer <key>`; off: local "
        "development only (loopback, every caller an admin, logged loudly at start-up).",
    )
    log_json: bool = Field(
        True, description="`jobmatch serve` logs one JSON object per line (false: plain text)."
    )

    # Limits: documented caps on input, enforced as 4xx with the field named.
    max_body_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest accepted request body, in bytes."
    )
    body_read_timeout: float = Field(
        15.0,
        gt=0,
        description="Seconds a request body may take to arrive in full (408 beyond), so a "
        "Content-Length larger than the body cannot hold a worker.",
    )
    max_json_depth: int = Field(
        32,
        ge=4,
        le=500,
        description="Deepest JSON nesting accepted (400 beyond); our shapes nest 3 deep.",
    )
    max_bulk_records: int = Field(1000, ge=1, description="Records per bulk upsert request.")
    import_batch_size: int = Field(1000, ge=1, description="Records per transaction on import.")
    compliance_mode: Literal["flag", "reject"] = Field(
        "flag",
        description="Postings stating forbidden conditions: flag them (stored, listed with "
        "flagged=true) or reject them with 422.",
    )
    # Measured on jobs_zhaopin.jsonl (README, Compliance): 0.7 and 0.6 give 2,055 groups at a
    # hand-checked precision of 47/50 pairs; without the title condition boilerplate about
    # the company joined different roles.
    duplicate_threshold: float = Field(
        0.7,
        gt=0,
        le=1,
        description="Estimated Jaccard similarity of word shingles at which two postings of "
        "one company (or two profiles of one major) are near-duplicates.",
    )
    duplicate_title_overlap: float = Field(
        0.6,
        ge=0,
        le=1,
        description="Share of the shorter title's words two duplicate postings must share.",
    )
    # On seekers_zhilian.jsonl every pair at 0.7 joined profiles of at most 4 distinct tokens
    # (one desired role, different ages); at 8 none is left, and no posting pair is lost.
    duplicate_min_tokens: int = Field(
        8,
        ge=1,
        description="Records with fewer distinct tokens are never called near-duplicates.",
    )
    school_signal: bool = Field(
        True,
        description="false: school names and tiers (大学, 学院, 985, 211, 双一流 …) are cut "
        "from every text before ranking, so the school moves no score (refit to apply).",
    )

    # Load and database failure: every request holds at most one pooled connection, so
    # admitting no more requests than the pool holds means none waits for a connection.
    # 8 rather than 20: the same req/s under `jobmatch bench load` (70 vs 67 on SQLite) with a
    # shorter tail (p99 7.9 s vs 9.8 s): fewer threads contend with the event loop for the GIL.
    max_concurrent_requests: int = Field(
        8,
        ge=1,
        le=1000,
        description="Requests handled at once per worker; more wait for a slot (health "
        "probes never wait).",
    )
    request_queue_timeout_s: float = Field(
        30.0,
        gt=0,
        description="How long a request may wait for a slot before it is answered 503.",
    )
    db_pool_size: int = Field(10, ge=1, description="Pooled database connections per worker.")
    db_max_overflow: int = Field(
        5, ge=0, description="Extra connections beyond the pool (background refits, probes)."
    )
    db_pool_timeout_s: float = Field(
        10.0, gt=0, description="Longest wait for a pooled connection before a 503."
    )
    db_connect_timeout_s: int = Field(
        3, ge=1, description="Longest wait for a new database connection."
    )
    db_statement_timeout_s: float = Field(
        15.0,
        gt=0,
        description="PostgreSQL statement_timeout of the server's connections; the client "
        "gives up on a silent server after this plus the connect timeout.",
    )
    db_idle_in_transaction_timeout_s: float = Field(
        60.0,
        gt=0,
        description="PostgreSQL ends a server connection left idle inside a transaction this long.",
    )
    sqlite_busy_timeout_ms: int = Field(
        10_000, ge=0, description="SQLite's wait for the write lock before 'database is locked'."
    )
    sqlite_write_attempts: int = Field(
        3, ge=1, le=10, description="Times a request retries taking SQLite's write lock."
    )
    retry_after_s: int = Field(
        2, ge=1, description="Retry-After of a 503 (database unavailable or overloaded)."
    )
    readiness_timeout_s: float = Field(
        2.0, gt=0, description="/readyz answers 503 when its checks take longer than this."
    )
    graceful_shutdown_s: float = Field(
        20.0,
        ge=0,
        description="On SIGTERM, in-flight requests get this long to finish before the "
        "worker stops.",
    )
    worker_healthcheck_s: float = Field(
        120.0,
        gt=0,
        description="With several workers, the supervisor restarts a worker that does not answer "
        "its ping for this long. A worker building its index at start-up does not answer, so "
        "this must exceed the build time (about 15 s for 100k postings here; uvicorn's 5 s "
        "default restarted them forever).",
    )

    max_open_shortlists: int = Field(
        1,
        ge=1,
        le=20,
        description="Open requisitions a graduate may be shortlisted for at once.",
    )

    @model_validator(mode="after")
    def _pool_holds_every_admitted_request(self) -> Settings:
        if self.max_concurrent_requests > self.db_pool_size + self.db_max_overflow:
            raise ValueError(
                "max_concurrent_requests must not exceed db_pool_size + db_max_overflow: "
                "a request beyond the pool would wait for a connection"
            )
        return self

    def connection_limits(self) -> ConnectionLimits:
        """The server's database limits."""
        return ConnectionLimits(
            connect_timeout_s=self.db_connect_timeout_s,
            sqlite_busy_timeout_ms=self.sqlite_busy_timeout_ms,
            statement_timeout_s=self.db_statement_timeout_s,
            idle_in_transaction_timeout_s=self.db_idle_in_transaction_timeout_s,
            pool_size=self.db_pool_size,
            max_overflow=self.db_max_overflow,
            pool_timeout_s=self.db_pool_timeout_s,
        )


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
