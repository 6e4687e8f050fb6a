"""The major classes the ranking uses: the shipped table, or the full list in shared/."""

from __future__ import annotations

from pathlib import Path

from app.ranking import MajorTable, Tokenizer
from app.ranking.lexicon import read_major_classes_csv

MAJORS_CSV = Path("data") / "lexicon" / "majors_undergraduate.csv"


def load_major_table(shared_dir: Path) -> MajorTable | None:
    """The shipped major classes merged with the full list in shared/ when it is there."""
    path = shared_dir / MAJORS_CSV
    if not path.is_file():
        return None  # the ranker falls back to its shipped table
    return MajorTable(
        major_classes=read_major_classes_csv(path), synonyms=Tokenizer().synonym_map()
    )
