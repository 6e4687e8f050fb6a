"""Load the public data in ../shared/data (real postings and job seekers) into the database.

Usage: .venv/bin/python scripts/import_shared_data.py [SHARED_DIR]
The files are read where they are, never copied: scraped posting text may not be redistributed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from app.cli import main as jobmatch
from app.settings import get_settings


def main(argv: list[str]) -> int:
    """Migrate, then import the zhaopin and campus postings and the Zhilian job seekers."""
    shared = Path(argv[0]) if argv else get_settings().shared_dir
    data = shared / "data"
    if not data.is_dir():
        print(f"error: {data} not found (pass the shared folder as the first argument)")
        return 2
    status = jobmatch(["db", "upgrade"])
    for kind, name in (
        ("jobs", "jobs_zhaopin.jsonl"),
        ("jobs", "jobs_campus.jsonl"),
        ("graduates", "seekers_zhilian.jsonl"),
    ):
        status = max(status, jobmatch(["import", kind, str(data / name)]))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
