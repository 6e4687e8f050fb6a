"""Cron-style batch re-ranking: `jobmatch rerank` with its arguments, no progress bar.

Usage: .venv/bin/python scripts/rerank.py [jobmatch rerank options]
A crontab line, every night at 2:00:
    0 2 * * * cd /srv/jobmatch && .venv/bin/python scripts/rerank.py --out /data/m.parquet
The exit status is that of the command (0 done, 2 refused or bad usage).
"""

from __future__ import annotations

import sys

from app.cli import main as jobmatch


def main(argv: list[str]) -> int:
    """Run `jobmatch rerank --no-progress` with the given options."""
    return jobmatch(["rerank", "--no-progress", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
