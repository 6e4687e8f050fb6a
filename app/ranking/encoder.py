"""Documents → feature rows, with shared codes for cities, majors and classes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Self

import numpy as np

from app.ranking import lexicon
from app.ranking.arrays import BoolArray
from app.ranking.documents import GraduateDocument, JobDocument, education_level
from app.ranking.features import (
    ABSENT,
    ANYWHERE,
    GRADUATE_STATUSES,
    JOB_STATUSES,
    MAX_CITIES,
    MAX_MAJORS,
    MISSING,
    Catalog,
    Direction,
    GraduateFeatures,
    JobFeatures,
    status_codes,
)
from app.ranking.filters import FilterSpec, candidate_mask
from app.ranking.majors import MajorTable
from app.ranking.text import normalize_text


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
            status=status_codes([j.status for j in jobs], JOB_STATUSES),
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
            status=status_codes([g.status for g in graduates], GRADUATE_STATUSES),
        )

    def candidate_mask(
        self, candidates: Direction, features: JobFeatures | GraduateFeatures, spec: FilterSpec
    ) -> BoolArray:
        """Candidate rows passing the spec's candidate-side constraints (see FilterSpec)."""
        place = ABSENT
        if spec.candidate_city is not None:
            place = self.places_.find(self._place(spec.candidate_city))
        return candidate_mask(candidates, features, spec, place)

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
