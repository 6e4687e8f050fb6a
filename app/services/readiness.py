"""Readiness: the database answers, the schema is at the newest migration, the index is current."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.matching.engine import MatchEngine
from app.migrations import applied_heads, migration_heads


@dataclass(slots=True)
class Readiness:
    """Each check's outcome ("ok" or why not); ready when every one is ok."""

    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Whether every check passed."""
        return all(outcome == "ok" for outcome in self.checks.values())


def check_readiness(session: Session, engine: MatchEngine) -> Readiness:
    """Run the checks in order; a database that does not answer skips the rest."""
    readiness = Readiness()
    session.execute(text("SELECT 1"))
    readiness.checks["database"] = "ok"
    applied = applied_heads(session.connection())
    expected = migration_heads()
    readiness.checks["migrations"] = (
        "ok"
        if applied == expected
        else f"database at {sorted(applied) or 'no revision'}, code expects {sorted(expected)}"
    )
    if readiness.checks["migrations"] != "ok":
        return readiness
    tenants = engine.catch_up_all(session)
    missing = [tenant for tenant in tenants if not engine.is_loaded(tenant)]
    readiness.checks["index"] = "ok" if not missing else f"not loaded for {', '.join(missing)}"
    return readiness
