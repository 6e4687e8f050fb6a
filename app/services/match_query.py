"""What a match request asks for: how many, explained or not, and the candidate filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.ranking import FilterSpec

ANY_STATUS = "any"


@dataclass(frozen=True, slots=True)
class MatchQuery:
    """How many candidates, whether to explain them, and the candidate filters."""

    k: int = 10
    explain: bool = False
    city: str | None = None
    education: str | None = None
    graduation_year_min: int | None = None
    graduation_year_max: int | None = None
    salary: int | None = None
    status: str | None = None
    # live: the in-memory index; batch: the current stored re-rank run (app.batch).
    source: Literal["live", "batch"] = "live"
    # prefer: major fit is part of the score; require: also a hard filter on the job's listed
    # majors and their classes.
    major: Literal["prefer", "require"] = "prefer"
    # Jobs for a graduate: near-duplicate postings collapse into their best-ranked one.
    collapse: bool = True


def candidate_filters(query: MatchQuery, candidates: Literal["jobs", "graduates"]) -> FilterSpec:
    years = None
    if query.graduation_year_min is not None or query.graduation_year_max is not None:
        years = (query.graduation_year_min or 0, query.graduation_year_max or 9999)
    status_on = query.status != ANY_STATUS
    major_required = query.major == "require"
    if candidates == "graduates":
        return FilterSpec(
            major_required=major_required,
            status=status_on,
            graduate_statuses=(query.status,) if status_on and query.status else ("seeking",),
            candidate_city=query.city,
            min_education=query.education,
            graduation_years=years,
            max_expected_salary=query.salary,
        )
    return FilterSpec(
        major_required=major_required,
        status=status_on,
        job_statuses=(query.status,) if status_on and query.status else ("open",),
        candidate_city=query.city,
        min_education=query.education,
        min_salary=query.salary,
    )
