"""Hard filters: which candidates a query may be offered at all, as masks applied before
top-k. Candidate-side constraints read the candidates alone; pair filters compare the query
with each candidate and let unknown values pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from app.ranking.arrays import BoolArray
from app.ranking.components import listed, places_match
from app.ranking.documents import EDUCATION_LEVELS, education_level
from app.ranking.features import (
    ABSENT,
    GRADUATE_STATUSES,
    JOB_STATUSES,
    MISSING,
    Direction,
    GraduateFeatures,
    JobFeatures,
    status_codes,
)


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """Hard filters applied as masks before top-k; the defaults keep seeking graduates and open
    jobs that fit the query on education, city and salary.

    Pair filters (`education`, `city`, `salary`) compare the query with each candidate and let
    unknown values pass. Everything else constrains the candidates alone, whatever the query
    document says about itself (a placed graduate still gets open jobs):

    - `status`: candidate jobs' status in `job_statuses`, candidate graduates' in
      `graduate_statuses`; False switches it off.
    - `candidate_city`: jobs whose city is this place; graduates whose own city or one of whose
      desired cities is it. Names are canonicalised like the city fit (full-width, 市 suffix) and
      a province also takes the places in it ("浙江" keeps 宁波). Jobs in "全国" and graduates
      with no city stated do not pass: the filter asks for the place itself.
    - `min_education`: graduates with at least this education (unknown fails: the minimum is a
      requirement nothing shows them to meet); jobs requiring at least this (a job requiring
      不限 passes: it states no level to hold against it).
    - `graduation_years` (graduates only): inclusive range; unknown years pass.
    - `max_expected_salary` (graduates only): expected salary at most this; unknown passes.
    - `min_salary` (jobs only): salary_max at least this; unknown (面议) passes.
    - `major_required` (pair): when the job lists majors, only graduates of a listed major or
      of a listed major's class pass; a graduate with no stated major does not (a requirement
      nothing shows them to meet). A job that lists no majors passes everyone.

    Constraints that name the other side are ignored when ranking this one.
    """

    status: bool = True
    education: bool = True
    city: bool = True
    salary: bool = True
    graduation_years: tuple[int, int] | None = None
    job_statuses: tuple[str, ...] = ("open",)
    graduate_statuses: tuple[str, ...] = ("seeking",)
    candidate_city: str | None = None
    min_education: str | None = None
    max_expected_salary: int | None = None
    min_salary: int | None = None
    major_required: bool = False

    def __post_init__(self) -> None:
        for label, given, known in (
            ("job_statuses", self.job_statuses, JOB_STATUSES),
            ("graduate_statuses", self.graduate_statuses, GRADUATE_STATUSES),
        ):
            unknown = sorted(set(given) - set(known))
            if unknown:
                raise ValueError(f"{label}: unknown status {unknown}; known: {known}")
        if self.min_education is not None and self.min_education not in EDUCATION_LEVELS:
            raise ValueError(
                f"min_education: unknown level {self.min_education!r}; "
                f"known: {tuple(EDUCATION_LEVELS)}"
            )

    def names(self, candidates: Direction | None = None) -> tuple[str, ...]:
        """The filters that are on, constraints with their values ("candidate_city=宁波"), for
        one candidate side or (None) both."""
        jobs, graduates = candidates != "graduates", candidates != "jobs"
        on = []
        if self.status:
            if candidates is None:
                on.append(f"job_status={','.join(self.job_statuses)}")
                on.append(f"graduate_status={','.join(self.graduate_statuses)}")
            else:
                statuses = self.job_statuses if candidates == "jobs" else self.graduate_statuses
                on.append(f"status={','.join(statuses)}")
        on.extend(name for name in ("education", "city", "salary") if getattr(self, name))
        if self.major_required:
            on.append("major=require")
        if self.candidate_city is not None:
            on.append(f"candidate_city={self.candidate_city}")
        if self.min_education is not None:
            on.append(f"min_education={self.min_education}")
        if graduates and self.graduation_years is not None:
            on.append(f"graduation_years={self.graduation_years[0]}-{self.graduation_years[1]}")
        if graduates and self.max_expected_salary is not None:
            on.append(f"max_expected_salary={self.max_expected_salary}")
        if jobs and self.min_salary is not None:
            on.append(f"min_salary={self.min_salary}")
        return tuple(on)


def candidate_mask(
    candidates: Direction,
    features: JobFeatures | GraduateFeatures,
    spec: FilterSpec,
    place: int = ABSENT,
) -> BoolArray:
    """Candidate rows passing the spec's candidate-side constraints (see FilterSpec); `place`
    is the code of spec.candidate_city (FeatureEncoder.candidate_mask finds it)."""
    if candidates == "jobs":
        assert isinstance(features, JobFeatures)
        return _job_mask(features, spec, place)
    assert isinstance(features, GraduateFeatures)
    return _graduate_mask(features, spec, place)


def _job_mask(jobs: JobFeatures, spec: FilterSpec, place: int) -> BoolArray:
    mask: BoolArray = np.ones(jobs.status.shape, dtype=bool)
    if spec.status:
        mask &= np.isin(jobs.status, status_codes(spec.job_statuses, JOB_STATUSES))
    if spec.candidate_city is not None:
        mask &= (jobs.city == place) | (jobs.province == place)
    if spec.min_education is not None:
        level = education_level(spec.min_education)
        mask &= (jobs.education == 0) | (jobs.education >= level)
    if spec.min_salary is not None:
        high = jobs.salary_max
        mask &= np.isnan(high) | (high >= spec.min_salary)
    return mask


def _graduate_mask(graduates: GraduateFeatures, spec: FilterSpec, place: int) -> BoolArray:
    mask: BoolArray = np.ones(graduates.status.shape, dtype=bool)
    if spec.status:
        codes = status_codes(spec.graduate_statuses, GRADUATE_STATUSES)
        mask &= np.isin(graduates.status, codes)
    if spec.candidate_city is not None:
        there = (graduates.home == place) | (graduates.home_province == place)
        wanted = (graduates.desired == place) | (graduates.desired_province == place)
        mask &= there | wanted.any(-1)
    if spec.min_education is not None and education_level(spec.min_education) > 0:
        mask &= graduates.education >= education_level(spec.min_education)
    if spec.graduation_years is not None:
        low, high = spec.graduation_years
        year = graduates.graduation_year
        mask &= (year == MISSING) | ((year >= low) & (year <= high))
    if spec.max_expected_salary is not None:
        expected = graduates.expected_salary
        mask &= np.isnan(expected) | (expected <= spec.max_expected_salary)
    return mask


def pair_mask(job: JobFeatures, graduate: GraduateFeatures, spec: FilterSpec) -> BoolArray:
    """Pairs passing the pair filters that are on (unknown values pass: nothing to hold against);
    candidate-side constraints are candidate_mask."""
    shape = np.broadcast_shapes(job.status.shape, graduate.status.shape)
    return _pair_mask(shape, spec, partial(getattr, job), partial(getattr, graduate))


def pair_mask_rows(
    candidates: Direction,
    features: JobFeatures | GraduateFeatures,
    rows: np.ndarray[Any, np.dtype[np.intp]],
    query: JobFeatures | GraduateFeatures,
    spec: FilterSpec,
) -> BoolArray:
    """pair_mask of some candidate rows against one query row, reading only the columns needed."""

    def taken(name: str) -> Any:
        return getattr(features, name)[rows]

    given = partial(getattr, query)
    shape = (rows.shape[0],)
    if candidates == "jobs":
        return _pair_mask(shape, spec, taken, given)
    return _pair_mask(shape, spec, given, taken)


def _pair_mask(
    shape: tuple[int, ...],
    spec: FilterSpec,
    job: Callable[[str], Any],
    graduate: Callable[[str], Any],
) -> BoolArray:
    """The pair filters on columns, read through job(name) and graduate(name)."""
    mask: BoolArray = np.ones(shape, bool)
    if spec.education:
        has = graduate("education")
        mask &= (has == 0) | (has >= job("education"))
    if spec.city:
        city = job("city")
        hit = places_match(city, job("province"), graduate("desired"), graduate("desired_province"))
        mask &= graduate("anywhere") | job("anywhere") | (city == MISSING) | hit
    if spec.salary:
        expected, high = graduate("expected_salary"), job("salary_max")
        mask &= np.isnan(expected) | np.isnan(high) | (expected <= high)
    if spec.major_required:
        majors = job("majors")
        fits = listed(majors, graduate("major")) | listed(job("classes"), graduate("major_class"))
        mask &= (majors[..., 0] == MISSING) | fits
    return mask
