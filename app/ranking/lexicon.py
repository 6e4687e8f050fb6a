"""Curated word lists shipped with the ranking core, and loaders for fuller ones given by path."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path

RESOURCE_PACKAGE = "app.ranking"


def _data_lines(text: str) -> list[str]:
    """Non-empty, non-comment lines of a resource file."""
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@cache
def read_resource_lines(name: str) -> tuple[str, ...]:
    """Data lines of a shipped resource file in app/ranking/resources/."""
    text = resources.files(RESOURCE_PACKAGE).joinpath("resources").joinpath(name).read_text("utf-8")
    return tuple(_data_lines(text))


def default_user_words() -> tuple[str, ...]:
    """Domain dictionary terms the segmenter keeps whole."""
    return tuple(line.split()[0] for line in read_resource_lines("userdict.txt"))


def default_stopwords() -> frozenset[str]:
    """The shipped stopword list."""
    return frozenset(read_resource_lines("stopwords.txt"))


def protected_terms() -> frozenset[str]:
    """Words about gender, age, ethnicity, household registration or marital status."""
    return frozenset(read_resource_lines("protected.txt"))


def default_synonym_groups() -> tuple[tuple[str, ...], ...]:
    """Synonym groups, canonical term first."""
    return tuple(tuple(line.split()) for line in read_resource_lines("synonyms.txt"))


def default_city_provinces() -> dict[str, str]:
    """City → province, for matching a desired province against a job's city."""
    return dict(_pairs(read_resource_lines("cities.txt")))


def default_major_classes() -> dict[str, str]:
    """Major → major class (专业类) for common majors."""
    return dict(_pairs(read_resource_lines("major_classes.txt")))


def default_related_classes() -> tuple[tuple[str, str], ...]:
    """Pairs of neighbouring major classes."""
    return tuple(_pairs(read_resource_lines("related_classes.txt")))


def _pairs(lines: Iterable[str]) -> Iterable[tuple[str, str]]:
    for line in lines:
        left, right = line.split("\t")[:2]
        yield left.strip(), right.strip()


def read_major_classes_csv(
    path: str | Path, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Merge a CSV of majors (name,discipline,major_class,degree) over the shipped table."""
    merged = dict(default_major_classes() if base is None else base)
    with Path(path).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            name, major_class = (row.get("name") or "").strip(), (row.get("major_class") or "")
            if name and major_class.strip():
                merged[name] = major_class.strip()
    return merged
