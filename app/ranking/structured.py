"""Structured fit between jobs and graduates: major, education, city and salary sub-scores and
hard filters, computed on broadcastable arrays so one query and a batch share one code path."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from functools import partial
from typing import Any, Literal, Self, get_args

import numpy as np

from app.ranking import lexicon
from app.ranking.documents import (
    EDUCATION_LEVELS,
    GraduateDocument,
    GraduateStatus,
    JobDocument,
    JobStatus,
    education_level,
)
from app.ranking.text import normalize_text

IntArray = np.ndarray[Any, np.dtype[np.int32]]
FloatArray = np.ndarray[Any, np.dtype[np.float32]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

# Which side is being ranked: "jobs" ranks jobs for a graduate, "graduates" the reverse.
Direction = Literal["jobs", "graduates"]

MISSING = -1
# The code of a filter value no document has: it equals no column value, MISSING included.
ABSENT = -2
JOB_STATUSES: tuple[str, ...] = get_args(JobStatus)
GRADUATE_STATUSES: tuple[str, ...] = get_args(GraduateStatus)
# Words meaning "anywhere": a job there, or a graduate wanting it, passes any city test.
ANYWHERE = frozenset({"全国", "不限", "远程", "异地", "多地", "全国各地"})
MAX_MAJORS = 8
MAX_CITIES = 8


@dataclass(frozen=True, slots=True)
class StructuredFitWeights:
    """final = text·t + major·major fit + education·edu fit + city·city fit + salary·fit, every
    part in [0, 1] (t the calibrated text part, see app.ranking.scoring).

    Major 2 makes each step of the major order (MajorFitLevels, steps of 1/4) worth half the
    best eligible text match: a graduate passes one a level above only with a text closer by
    half the best match, and never one two levels above, which is a recruiter's order with text
    deciding within a level and between neighbours (README, "The blend"). Education, city and
    salary are hard filters by default; a second say in the score would count the same fact
    twice, so they weigh nothing until `jobmatch tune` learns a weight for them from outcomes.
    """

    text: float = 1.0
    major: float = 2.0
    education: float = 0.0
    city: float = 0.0
    salary: float = 0.0


@dataclass(frozen=True, slots=True)
class MajorFitLevels:
    """Major fit by relation, in a recruiter's order: a major the posting lists (any of them),
    a major of a listed major's class, of a related class, no major stated (or a posting that
    lists none), an unrelated major.

    The values are the order itself in equal steps (4/4 … 0/4): nothing measured says one step
    matters more than another, and how far a step moves a ranking is the major weight's job.
    """

    same_major: float = 1.0
    same_class: float = 0.75
    related_class: float = 0.5
    unknown: float = 0.25
    unrelated: float = 0.0

    def name_of(self, value: float) -> str:
        """The relation a major part stands for ("listed major", …): the first level with
        this value, strongest first."""
        for name, level in (
            ("listed major", self.same_major),
            ("same class", self.same_class),
            ("related class", self.related_class),
            ("no major to compare", self.unknown),
            ("unrelated major", self.unrelated),
        ):
            if np.isclose(value, level):
                return name
        return "custom"


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


class Catalog:
    """Interns strings (cities, majors, classes) as small integer codes."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def code(self, value: str | None) -> int:
        """The code of a value, allocating one if new; MISSING for empty values."""
        if not value:
            return MISSING
        code = self.codes.get(value)
        if code is None:
            code = len(self.codes)
            self.codes[value] = code
        return code

    def find(self, value: str | None) -> int:
        """The code of a known value without allocating one; ABSENT for unknown or empty values."""
        return self.codes.get(value, ABSENT) if value else ABSENT


class MajorTable:
    """Major → class, neighbouring classes and the canonical spelling of majors."""

    def __init__(
        self,
        *,
        major_classes: Mapping[str, str] | None = None,
        related_classes: Iterable[tuple[str, str]] | None = None,
        synonyms: Mapping[str, str] | None = None,
    ) -> None:
        self.major_classes = major_classes
        self.related_classes = related_classes
        self.synonyms = synonyms

    def fit(self) -> Self:
        """Resolve the tables (shipped defaults where none were given)."""
        synonyms = dict(self.synonyms or {})
        majors = (
            lexicon.default_major_classes() if self.major_classes is None else self.major_classes
        )
        self.synonyms_ = synonyms
        self.classes_ = {self.canonical(m): c for m, c in majors.items()}
        related = (
            lexicon.default_related_classes()
            if self.related_classes is None
            else tuple(self.related_classes)
        )
        self.related_ = frozenset(related) | frozenset((b, a) for a, b in related)
        return self

    def canonical(self, major: str | None) -> str:
        """Normalized major name with synonyms applied; "" when absent."""
        if not major:
            return ""
        name = normalize_text(major).strip()
        return self.synonyms.get(name, name) if self.synonyms else name

    def major_class(self, major: str) -> str:
        """Class of a canonical major; majors ending in a class name (…类) are their own class."""
        if major.endswith("类"):
            return major
        return self.classes_.get(major, "")


@dataclass(slots=True)
class JobFeatures:
    """Structured columns of jobs, one row per indexed job (majors[:, 0] is the primary major)."""

    education: IntArray
    city: IntArray
    province: IntArray
    anywhere: BoolArray
    salary_min: FloatArray
    salary_max: FloatArray
    status: IntArray
    majors: IntArray
    classes: IntArray

    def take(self, rows: Any) -> JobFeatures:
        """Rows (an index, slice or mask) of every column."""
        return JobFeatures(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def expand(self, axis: int) -> JobFeatures:
        """Insert a broadcast axis in front of the per-document axis."""
        return JobFeatures(
            **{f.name: np.expand_dims(getattr(self, f.name), axis) for f in fields(self)}
        )

    @staticmethod
    def concat(parts: Sequence[JobFeatures]) -> JobFeatures:
        """Rows of several feature tables, in order."""
        return JobFeatures(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in fields(JobFeatures)
            }
        )


@dataclass(slots=True)
class GraduateFeatures:
    """Structured columns of graduates, one row per indexed graduate (home: their own city)."""

    education: IntArray
    major: IntArray
    major_class: IntArray
    home: IntArray
    home_province: IntArray
    desired: IntArray
    desired_province: IntArray
    anywhere: BoolArray
    expected_salary: FloatArray
    graduation_year: IntArray
    status: IntArray

    def take(self, rows: Any) -> GraduateFeatures:
        """Rows (an index, slice or mask) of every column."""
        return GraduateFeatures(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def expand(self, axis: int) -> GraduateFeatures:
        """Insert a broadcast axis in front of the per-document axis."""
        return GraduateFeatures(
            **{f.name: np.expand_dims(getattr(self, f.name), axis) for f in fields(self)}
        )

    @staticmethod
    def concat(parts: Sequence[GraduateFeatures]) -> GraduateFeatures:
        """Rows of several feature tables, in order."""
        return GraduateFeatures(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in fields(GraduateFeatures)
            }
        )


class FeatureEncoder:
    """Turns documents into feature rows with shared codes for cities, majors and classes."""

    def __init__(
        self, *, majors: MajorTable | None = None, city_provinces: Mapping[str, str] | None = None
    ) -> None:
        self.majors = majors
        self.city_provinces = city_provinces

    def fit(self) -> Self:
        """Resolve tables and start empty catalogs."""
        self.majors_ = (self.majors or MajorTable()).fit()
        self.city_provinces_ = dict(
            lexicon.default_city_provinces() if self.city_provinces is None else self.city_provinces
        )
        self.places_ = Catalog()
        self.major_codes_ = Catalog()
        self.class_codes_ = Catalog()
        return self

    def _place(self, name: str | None) -> str:
        return normalize_text(name or "").strip().removesuffix("市")

    def _province(self, city: str) -> str:
        return self.city_provinces_.get(city, city)

    def encode_jobs(self, jobs: Sequence[JobDocument]) -> JobFeatures:
        """Feature rows of jobs."""
        n = len(jobs)
        majors = np.full((n, MAX_MAJORS), MISSING, dtype=np.int32)
        classes = np.full((n, MAX_MAJORS), MISSING, dtype=np.int32)
        city = np.full(n, MISSING, dtype=np.int32)
        province = np.full(n, MISSING, dtype=np.int32)
        anywhere = np.zeros(n, dtype=bool)
        salary_min = np.full(n, np.nan, dtype=np.float32)
        salary_max = np.full(n, np.nan, dtype=np.float32)
        for row, job in enumerate(jobs):
            for slot, name in enumerate(_unique(map(self.majors_.canonical, job.majors))):
                if slot == MAX_MAJORS:
                    break
                majors[row, slot] = self.major_codes_.code(name)
                classes[row, slot] = self.class_codes_.code(self.majors_.major_class(name))
            place = self._place(job.city)
            anywhere[row] = place in ANYWHERE
            if place and not anywhere[row]:
                city[row] = self.places_.code(place)
                province[row] = self.places_.code(self._province(place))
            low, high = job.salary_min, job.salary_max
            salary_min[row] = np.nan if low is None else low
            salary_max[row] = np.nan if high is None and low is None else (high or low)
        return JobFeatures(
            education=np.array([education_level(j.education) for j in jobs], dtype=np.int32),
            city=city,
            province=province,
            anywhere=anywhere,
            salary_min=salary_min,
            salary_max=salary_max,
            status=_status_codes([j.status for j in jobs], JOB_STATUSES),
            majors=majors,
            classes=classes,
        )

    def encode_graduates(self, graduates: Sequence[GraduateDocument]) -> GraduateFeatures:
        """Feature rows of graduates."""
        n = len(graduates)
        desired = np.full((n, MAX_CITIES), MISSING, dtype=np.int32)
        desired_province = np.full((n, MAX_CITIES), MISSING, dtype=np.int32)
        anywhere = np.zeros(n, dtype=bool)
        major = np.full(n, MISSING, dtype=np.int32)
        major_class = np.full(n, MISSING, dtype=np.int32)
        home = np.full(n, MISSING, dtype=np.int32)
        home_province = np.full(n, MISSING, dtype=np.int32)
        for row, graduate in enumerate(graduates):
            home_place = self._place(graduate.city)
            if home_place and home_place not in ANYWHERE:
                home[row] = self.places_.code(home_place)
                home_province[row] = self.places_.code(self._province(home_place))
            places = [p for p in _unique(map(self._place, graduate.desired_cities)) if p]
            anywhere[row] = any(p in ANYWHERE for p in places)
            places = [p for p in places if p not in ANYWHERE]
            # A graduate who names places to work also takes work where they live: no move is
            # needed, and agencies call local graduates first. Only added to a stated list, so
            # a graduate naming no place stays open to every place.
            if places and home[row] != MISSING and home_place not in places:
                places.append(home_place)
            places = places[:MAX_CITIES]
            for slot, place in enumerate(places):
                desired[row, slot] = self.places_.code(place)
                desired_province[row, slot] = self.places_.code(self._province(place))
            name = self.majors_.canonical(graduate.major)
            if name:
                major[row] = self.major_codes_.code(name)
                major_class[row] = self.class_codes_.code(self.majors_.major_class(name))
        return GraduateFeatures(
            education=np.array([education_level(g.education) for g in graduates], dtype=np.int32),
            major=major,
            major_class=major_class,
            home=home,
            home_province=home_province,
            desired=desired,
            desired_province=desired_province,
            # No stated city at all also means "anywhere" for the filter.
            anywhere=anywhere | (desired[:, 0] == MISSING),
            expected_salary=np.array(
                [np.nan if g.expected_salary is None else g.expected_salary for g in graduates],
                dtype=np.float32,
            ),
            graduation_year=np.array(
                [MISSING if g.graduation_year is None else g.graduation_year for g in graduates],
                dtype=np.int32,
            ),
            status=_status_codes([g.status for g in graduates], GRADUATE_STATUSES),
        )

    def candidate_mask(
        self, candidates: Direction, features: JobFeatures | GraduateFeatures, spec: FilterSpec
    ) -> BoolArray:
        """Candidate rows passing the spec's candidate-side constraints (see FilterSpec)."""
        if candidates == "jobs":
            assert isinstance(features, JobFeatures)
            return self._job_mask(features, spec)
        assert isinstance(features, GraduateFeatures)
        return self._graduate_mask(features, spec)

    def _job_mask(self, jobs: JobFeatures, spec: FilterSpec) -> BoolArray:
        mask: BoolArray = np.ones(jobs.status.shape, dtype=bool)
        if spec.status:
            mask &= np.isin(jobs.status, _status_codes(spec.job_statuses, JOB_STATUSES))
        if spec.candidate_city is not None:
            place = self.places_.find(self._place(spec.candidate_city))
            mask &= (jobs.city == place) | (jobs.province == place)
        if spec.min_education is not None:
            level = education_level(spec.min_education)
            mask &= (jobs.education == 0) | (jobs.education >= level)
        if spec.min_salary is not None:
            high = jobs.salary_max
            mask &= np.isnan(high) | (high >= spec.min_salary)
        return mask

    def _graduate_mask(self, graduates: GraduateFeatures, spec: FilterSpec) -> BoolArray:
        mask: BoolArray = np.ones(graduates.status.shape, dtype=bool)
        if spec.status:
            codes = _status_codes(spec.graduate_statuses, GRADUATE_STATUSES)
            mask &= np.isin(graduates.status, codes)
        if spec.candidate_city is not None:
            place = self.places_.find(self._place(spec.candidate_city))
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

    def related_matrix(self) -> BoolArray:
        """related[a, b] for class codes; the extra last row/column serves MISSING (-1)."""
        size = len(self.class_codes_.codes) + 1
        related = np.zeros((size, size), dtype=bool)
        codes = self.class_codes_.codes
        for a, b in self.majors_.related_:
            if a in codes and b in codes:
                related[codes[a], codes[b]] = True
        return related


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _status_codes(statuses: Sequence[str], known: Sequence[str]) -> IntArray:
    """Position of each status in `known`, MISSING for others."""
    codes = {status: code for code, status in enumerate(known)}
    return np.array([codes.get(s, MISSING) for s in statuses], dtype=np.int32)


@dataclass(frozen=True, slots=True)
class Components:
    """Sub-scores in [0, 1] for a broadcast set of (job, graduate) pairs."""

    major: FloatArray
    education: FloatArray
    city: FloatArray
    salary: FloatArray

    def take(self, rows: Any) -> Components:
        """The sub-scores of some pairs."""
        return Components(
            self.major[rows], self.education[rows], self.city[rows], self.salary[rows]
        )


def score_components(
    job: JobFeatures, graduate: GraduateFeatures, related: BoolArray, levels: MajorFitLevels
) -> Components:
    """Sub-scores of every (job, graduate) pair given broadcastable feature views."""
    f32 = np.float32
    shape = np.broadcast_shapes(job.status.shape, graduate.status.shape)
    if (graduate.major == MISSING).all():
        # Shortcut with the same values as the general path: no query major, nothing to compare.
        major = np.full(shape, levels.unknown, dtype=f32)
    else:
        major = major_fit(job, graduate, related, levels)

    required, has = job.education, graduate.education
    education = np.where(
        required == 0, f32(1.0), np.where(has == 0, f32(0.5), (has >= required).astype(f32))
    ).astype(f32)

    if graduate.anywhere.all() or job.anywhere.all():
        city = np.full(shape, 0.5, dtype=f32)
    else:
        city_known = ~graduate.anywhere & ~job.anywhere & (job.city != MISSING)
        city = np.where(city_known, city_match(job, graduate), f32(0.5)).astype(f32)

    expected, high = graduate.expected_salary, job.salary_max
    with np.errstate(invalid="ignore", divide="ignore"):
        shortfall = np.clip(1.0 - (expected - high) / high, 0.0, 1.0).astype(f32)
    # A salary of 0 states nothing (and 0/0 would make the score NaN).
    unknown = np.isnan(expected) | np.isnan(high) | (high <= 0)
    salary = np.where(unknown, f32(0.5), shortfall).astype(f32)
    return Components(
        major=np.broadcast_to(major, shape).astype(f32),
        education=np.broadcast_to(education, shape).astype(f32),
        city=np.broadcast_to(city, shape).astype(f32),
        salary=np.broadcast_to(salary, shape).astype(f32),
    )


def sub_score_ranges(
    query: JobFeatures | GraduateFeatures, levels: MajorFitLevels
) -> tuple[tuple[float, float], ...]:
    """Lowest and highest (major, education, city, salary) sub-score one query row can get
    against any candidate, from the query alone; the cases follow score_components."""
    level_values = [float(level) for level in astuple(levels)]
    major = (min(level_values), max(level_values))
    education = city = salary = (0.0, 1.0)
    if isinstance(query, GraduateFeatures):
        if (query.major == MISSING).all():
            major = (levels.unknown, levels.unknown)
        if (query.education == 0).all():
            education = (0.5, 1.0)
        if query.anywhere.all():
            city = (0.5, 0.5)
        if np.isnan(query.expected_salary).all():
            salary = (0.5, 0.5)
    else:
        if (query.majors[..., 0] == MISSING).all():
            major = (levels.unknown, levels.unknown)
        if (query.education == 0).all():
            education = (1.0, 1.0)
        if (query.anywhere | (query.city == MISSING)).all():
            city = (0.5, 0.5)
        if (np.isnan(query.salary_max) | (query.salary_max <= 0)).all():
            salary = (0.5, 0.5)
    return major, education, city, salary


def major_fit(
    job: JobFeatures, graduate: GraduateFeatures, related: BoolArray, levels: MajorFitLevels
) -> FloatArray:
    """Major relation of each pair, checked from weakest to strongest so the strongest wins:
    every major the job lists is an exact match, whatever its position."""
    f32 = np.float32
    g_class = graduate.major_class[..., None]
    major = np.where(
        related[g_class, job.classes].any(-1), f32(levels.related_class), f32(levels.unrelated)
    )
    major = np.where(listed(job.classes, graduate.major_class), f32(levels.same_class), major)
    major = np.where(listed(job.majors, graduate.major), f32(levels.same_major), major)
    unknown = (graduate.major == MISSING) | (job.majors[..., 0] == MISSING)
    return np.where(unknown, f32(levels.unknown), major).astype(f32)


def listed(values: IntArray, value: IntArray) -> BoolArray:
    """`value` (a graduate's major or class) is one of `values` (a job's majors or their
    classes, on the last axis)."""
    return ((values == value[..., None]) & (values != MISSING)).any(-1)  # type: ignore[no-any-return]


def city_match(job: JobFeatures, graduate: GraduateFeatures) -> BoolArray:
    """A desired place equals the job's city or province, or the job's place is a desired one's
    province."""
    return places_match(job.city, job.province, graduate.desired, graduate.desired_province)


def places_match(
    city: IntArray, province: IntArray, desired: IntArray, desired_province: IntArray
) -> BoolArray:
    """city_match on columns (desired places on the last axis)."""
    if desired.ndim == 2 and desired.shape[0] == 1 and city.ndim == 1:
        # One graduate against many jobs: two lookups per job instead of comparing every slot.
        wanted = desired[0] != MISSING
        places, provinces = desired[0][wanted], desired_province[0][wanted]
        # Index by code + 1 so MISSING lands on 0; codes past the table clip onto a False end.
        size = int(max(places.max(initial=0), provinces.max(initial=0))) + 3
        as_city, as_province = np.zeros(size, dtype=bool), np.zeros(size, dtype=bool)
        as_city[places + 1] = True
        as_city[provinces + 1] = True
        as_province[places + 1] = True
        hit: BoolArray = np.take(as_city, city + 1, mode="clip")
        hit |= np.take(as_province, province + 1, mode="clip")
        return hit
    city, province = city[..., None], province[..., None]
    slots = (desired == city) | (desired == province)
    slots |= desired_province == city
    return (slots & (desired != MISSING)).any(-1)  # type: ignore[no-any-return]


def pair_mask(job: JobFeatures, graduate: GraduateFeatures, spec: FilterSpec) -> BoolArray:
    """Pairs passing the pair filters that are on (unknown values pass: nothing to hold against);
    candidate-side constraints are FeatureEncoder.candidate_mask."""
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
