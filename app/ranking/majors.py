"""The major catalogue: each major's class, the related classes and majors' canonical
spelling."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Self

from app.ranking import lexicon
from app.ranking.text import normalize_text


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
