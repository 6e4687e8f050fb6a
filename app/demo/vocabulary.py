"""Hand-written vocabularies for the synthetic demo: places, industries, roles, majors, schools.

The words live in JSON under app/demo/data/ (shipped as package data) and are read once, on
first use. Notes on the data that JSON cannot carry:

- industries.json: roles several industries share are written once under `shared_roles` and
  named by title in an industry's `roles`; `common_roles` are hired by every industry.
- majors.json: 本科 majors first (weights give Ningbo's industrial mix a large share of
  电气/自动化/机械), then 专科 majors named after the vocational catalogue and classed by its
  专业类. `major_schools`: majors only some schools teach; other schools never draw them.
- schools.json: kind is research (本科/硕士/博士), university (本科/硕士), college (本科) or
  vocational (大专); `school_education` gives, per kind, [level, weight] runs of the draw.
- places.json: `home_cities` are hometowns of graduates who do not live where they studied,
  Zhejiang first, with weights.
- names.json: surnames with pinyin for e-mail handles, weighted roughly by how common they
  are; `company_word_chars` are syllables for invented company names, pairs of which rarely
  spell a famous brand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any, NamedTuple


class District(NamedTuple):
    """A Ningbo district: short name as people say it, official name, streets and parks."""

    name: str
    official: str
    places: tuple[str, ...]


class Role(NamedTuple):
    """A job role: title, acceptable majors, skills (core first), duties, education, pay."""

    title: str
    majors: tuple[str, ...]
    skills: tuple[str, ...]
    duties: tuple[str, ...]
    # Repeated entries weight the draw: ("大专", "本科", "本科") is two thirds 本科.
    education: tuple[str, ...]
    # Midpoint monthly pay in CNY for a fresh 本科 graduate.
    base_salary: int


class Industry(NamedTuple):
    """An industry of the Ningbo seed: where it sits, how its firms are named, what it hires."""

    name: str
    weight: int
    districts: tuple[str, ...]
    company_words: tuple[str, ...]
    profiles: tuple[str, ...]
    roles: tuple[Role, ...]


class Major(NamedTuple):
    """A major with its class, the levels that offer it, skills and roles its graduates seek."""

    name: str
    major_class: str
    levels: tuple[str, ...]
    weight: int
    theme: str
    skills: tuple[str, ...]
    roles: tuple[str, ...]
    salary_factor: float


class School(NamedTuple):
    """A university or college; kind decides which education levels it awards."""

    name: str
    city: str
    kind: str
    weight: int


class Theme(NamedTuple):
    """Words for a graduate's summary shared by related majors."""

    courses: tuple[str, ...]
    projects: tuple[str, ...]
    intern_tasks: tuple[str, ...]
    intern_company_words: tuple[str, ...]
    contests: tuple[str, ...]


@dataclass(frozen=True)
class DemoVocabulary:
    """Every word list the demo generators draw from."""

    districts: tuple[District, ...]
    districts_by_name: Mapping[str, District]
    home_cities: tuple[tuple[str, int], ...]
    neighbour_cities: tuple[str, ...]
    industries: tuple[Industry, ...]
    common_roles: tuple[Role, ...]
    themes: Mapping[str, Theme]
    majors: tuple[Major, ...]
    majors_by_name: Mapping[str, Major]
    major_classes: Mapping[str, str]
    major_schools: Mapping[str, tuple[str, ...]]
    schools: tuple[School, ...]
    schools_by_name: Mapping[str, School]
    # Education a school kind awards, repeated to weight the draw.
    school_education: Mapping[str, tuple[str, ...]]
    surnames: tuple[tuple[str, str, int], ...]
    given_name_chars: tuple[tuple[str, str], ...]
    company_word_chars: tuple[str, ...]
    general_skills: tuple[str, ...]
    benefits: tuple[str, ...]
    traits: tuple[str, ...]
    awards: tuple[str, ...]
    attitudes: tuple[str, ...]


def _read(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        files("app.demo").joinpath("data", name).read_text(encoding="utf-8")
    )
    return data


def _tuples(rows: list[list[Any]]) -> tuple[Any, ...]:
    return tuple(tuple(row) for row in rows)


def _role(row: dict[str, Any]) -> Role:
    return Role(
        row["title"],
        tuple(row["majors"]),
        tuple(row["skills"]),
        tuple(row["duties"]),
        tuple(row["education"]),
        row["base_salary"],
    )


def _industries(data: dict[str, Any]) -> tuple[tuple[Industry, ...], tuple[Role, ...]]:
    shared = {row["title"]: _role(row) for row in data["shared_roles"]}
    industries = tuple(
        Industry(
            row["name"],
            row["weight"],
            tuple(row["districts"]),
            tuple(row["company_words"]),
            tuple(row["profiles"]),
            tuple(shared[role] if isinstance(role, str) else _role(role) for role in row["roles"]),
        )
        for row in data["industries"]
    )
    return industries, tuple(shared[title] for title in data["common_roles"])


@cache
def load_vocabulary() -> DemoVocabulary:
    """The demo's word lists, read from app/demo/data/ on first call."""
    places, majors_data, schools_data = (
        _read("places.json"),
        _read("majors.json"),
        _read("schools.json"),
    )
    names, phrases = _read("names.json"), _read("phrases.json")
    industries, common_roles = _industries(_read("industries.json"))
    districts = tuple(
        District(row["name"], row["official"], tuple(row["places"])) for row in places["districts"]
    )
    majors = tuple(
        Major(
            row["name"],
            row["major_class"],
            tuple(row["levels"]),
            row["weight"],
            row["theme"],
            tuple(row["skills"]),
            tuple(row["roles"]),
            row["salary_factor"],
        )
        for row in majors_data["majors"]
    )
    schools = tuple(School(**row) for row in schools_data["schools"])
    return DemoVocabulary(
        districts=districts,
        districts_by_name=MappingProxyType({d.name: d for d in districts}),
        home_cities=_tuples(places["home_cities"]),
        neighbour_cities=tuple(places["neighbour_cities"]),
        industries=industries,
        common_roles=common_roles,
        themes=MappingProxyType(
            {
                key: Theme(**{field: tuple(words) for field, words in theme.items()})
                for key, theme in majors_data["themes"].items()
            }
        ),
        majors=majors,
        majors_by_name=MappingProxyType({m.name: m for m in majors}),
        major_classes=MappingProxyType({m.name: m.major_class for m in majors}),
        major_schools=MappingProxyType(
            {major: tuple(names) for major, names in majors_data["major_schools"].items()}
        ),
        schools=schools,
        schools_by_name=MappingProxyType({s.name: s for s in schools}),
        school_education=MappingProxyType(
            {
                kind: tuple(level for level, weight in runs for _ in range(weight))
                for kind, runs in schools_data["school_education"].items()
            }
        ),
        surnames=_tuples(names["surnames"]),
        given_name_chars=_tuples(names["given_name_chars"]),
        company_word_chars=tuple(names["company_word_chars"]),
        general_skills=tuple(phrases["general_skills"]),
        benefits=tuple(phrases["benefits"]),
        traits=tuple(phrases["traits"]),
        awards=tuple(phrases["awards"]),
        attitudes=tuple(phrases["attitudes"]),
    )


def major_classes() -> Mapping[str, str]:
    """Each demo major's class (专业类): 电气工程及其自动化 -> 电气类."""
    return load_vocabulary().major_classes


def __getattr__(name: str) -> Mapping[str, str]:
    # `from app.demo.vocabulary import MAJOR_CLASSES` (app/demo/five_day.py) keeps working and
    # still reads the data only when something asks for it.
    if name == "MAJOR_CLASSES":
        return major_classes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
