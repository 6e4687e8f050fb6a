"""The `jobmatch` command line: one sub-command module per task under app/commands/."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Command name → (module, one-line help). Only the module of the command being run is
# imported, so `jobmatch serve` does not pay for scikit-learn and `--help` stays quick.
COMMANDS = {
    "serve": ("app.commands.serve", "run the HTTP API (OpenAPI page at /docs)"),
    "db": ("app.commands.db", "database schema management"),
    "import": ("app.commands.importer", "upsert postings or graduates from JSONL, CSV or XLSX"),
    "demo": ("app.commands.demo", "synthetic demo data"),
    "evaluate": ("app.commands.evaluate", "ranking quality against labelled queries"),
    "bench": ("app.commands.bench", "benchmarks that print numbers"),
    "rerank": ("app.commands.rerank", "re-rank every graduate against every open job (batch)"),
    "allocate": ("app.commands.allocate", "assign graduates to jobs within headcounts"),
    "tune": ("app.commands.tune", "fit the blend weights on recorded hiring outcomes"),
    "tenants": ("app.commands.tenants", "create and list tenants (agencies)"),
    "keys": ("app.commands.keys", "create, list and revoke API keys"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser; `command`'s module registers its full parser, the rest a stub."""
    parser = argparse.ArgumentParser(prog="jobmatch", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        if name == command:
            importlib.import_module(module_name).register(subparsers)
        else:
            subparsers.add_parser(name, help=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `jobmatch` console script."""
    argv = sys.argv[1:] if argv is None else argv
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    args = build_parser(command if command in COMMANDS else None).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result: int | None = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
