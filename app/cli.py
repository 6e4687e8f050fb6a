"""The `jobmatch` command line: one sub-command module per task under app/commands/."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Sub-command modules, imported lazily so `jobmatch --help` stays fast and a
# command's heavy imports (scikit-learn, SQLAlchemy) load only when it runs.
COMMAND_MODULES = (
    "app.commands.serve",
    "app.commands.db",
    "app.commands.importer",
    "app.commands.demo",
    "app.commands.evaluate",
    "app.commands.bench",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available sub-command."""
    parser = argparse.ArgumentParser(prog="jobmatch", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # not written yet in this checkout
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `jobmatch` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result: int | None = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
