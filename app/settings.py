"""Typed settings read from the environment (prefix JOBMATCH_) or a .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    # Limits: documented caps on input, enforced as 4xx with the field named.
    max_body_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest accepted request body, in bytes."
    )
    max_bulk_records: int = Field(1000, ge=1, description="Records per bulk upsert request.")
    max_page_size: int = Field(200, ge=1, description="Largest `limit` of a list request.")
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
    school_signal: bool = Field(
        True,
        description="false: school names and tiers (大学, 学院, 985, 211, 双一流 …) are cut "
        "from every text before ranking, so the school moves no score (refit to apply).",
    )
    max_open_shortlists: int = Field(
        1,
        ge=1,
        le=20,
        description="Open requisitions a graduate may be shortlisted for at once.",
    )


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
