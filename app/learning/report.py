"""`jobmatch evaluate --outcomes`: precision@k and recall of the recorded shortlists against
the hires that followed them; and the text of `jobmatch tune`'s figures.

`add_outcome_arguments(parser)` adds the options to a parser (options the parser already has,
such as evaluate's `--k` and `--json`, are reused); `run_outcomes(args)` prints the report.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sqlalchemy.orm import Session

from app.db import create_db_engine
from app.learning.outcomes import OutcomeReport, read_outcomes, shortlist_outcomes
from app.learning.tune import WEIGHT_NAMES, TuneResult, weights_dict
from app.settings import get_settings
from app.tables import DEFAULT_TENANT

DEFAULT_K = 30


def add_outcome_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --outcomes, --tenant, --database-url, and --k / --json unless already there."""
    parser.add_argument(
        "--outcomes",
        action="store_true",
        help="report precision@k and recall of past shortlists against hires instead",
    )
    options: list[tuple[str, dict[str, Any]]] = [
        ("--k", {"type": int, "default": DEFAULT_K, "help": "cut-off (default: %(default)s)"}),
        ("--json", {"action": "store_true", "help": "end with one JSON line of results"}),
        ("--tenant", {"default": DEFAULT_TENANT, "help": "agency (default: %(default)s)"}),
        ("--database-url", {"help": "default: JOBMATCH_DATABASE_URL"}),
    ]
    for flag, spec in options:
        try:
            parser.add_argument(flag, **spec)
        except argparse.ArgumentError:
            pass  # the host command defines it already; its value serves both


def run_outcomes(args: argparse.Namespace) -> int:
    """Read the tenant's candidacies and print precision@k and recall per requisition."""
    url = getattr(args, "database_url", None) or get_settings().database_url
    tenant = getattr(args, "tenant", DEFAULT_TENANT)
    k = int(getattr(args, "k", DEFAULT_K))
    engine = create_db_engine(url)
    try:
        with Session(engine) as session:
            report = shortlist_outcomes(read_outcomes(session, tenant=tenant), k=k)
    finally:
        engine.dispose()
    sys.stdout.write("".join(f"{line}\n" for line in format_report(report, tenant=tenant)))
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps(report_dict(report, tenant=tenant), ensure_ascii=False) + "\n")
    return 0


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_report(report: OutcomeReport, *, tenant: str) -> list[str]:
    """The report as lines of text."""
    k = report.k
    if not report.requisitions:
        return [f"outcomes of tenant {tenant}: no shortlists recorded yet"]
    lines = [
        f"outcomes of tenant {tenant}: {len(report.requisitions)} requisition"
        f"{'' if len(report.requisitions) == 1 else 's'}, "
        f"{report.candidacies} candidacies, {report.hires} hires",
        f"{'requisition':>11} {'status':>7} {'candidacies':>11} {'hires':>6} "
        f"{f'top-{k}':>7} {'hired in top':>12} {f'precision@{k}':>13} {'recall':>7}",
    ]
    rows: list[tuple[str, str, int, int, int, int, float | None, float | None]] = [
        (
            str(item.requisition_id),
            item.status,
            item.candidacies,
            item.hires,
            item.top_k,
            item.hires_in_top_k,
            item.precision,
            item.recall,
        )
        for item in report.requisitions
    ]
    rows.append(
        (
            "pooled",
            "",
            report.candidacies,
            report.hires,
            report.top_k,
            report.hires_in_top_k,
            report.precision,
            report.recall,
        )
    )
    for name, status, candidacies, hires, top, hits, precision, recall in rows:
        lines.append(
            f"{name:>11} {status:>7} {candidacies:>11} {hires:>6} {top:>7} {hits:>12} "
            f"{_figure(precision):>13} {_figure(recall):>7}"
        )
    lines.append(f"mean precision@{k} over requisitions: {_figure(report.mean_precision)}")
    if any(item.status == "open" for item in report.requisitions):
        lines.append("open requisitions are still moving: their figures are provisional")
    return lines


def report_dict(report: OutcomeReport, *, tenant: str) -> dict[str, Any]:
    """The report as plain JSON values."""
    return {
        "tenant": tenant,
        "k": report.k,
        "candidacies": report.candidacies,
        "hires": report.hires,
        "hires_in_top_k": report.hires_in_top_k,
        "precision_at_k": report.precision,
        "recall": report.recall,
        "mean_precision_at_k": report.mean_precision,
        "requisitions": [
            {
                "requisition_id": item.requisition_id,
                "status": item.status,
                "candidacies": item.candidacies,
                "hires": item.hires,
                "top_k": item.top_k,
                "hires_in_top_k": item.hires_in_top_k,
                "precision_at_k": item.precision,
                "recall": item.recall,
            }
            for item in report.requisitions
        ],
    }


def format_tune_result(result: TuneResult, *, source: str) -> list[str]:
    """Tune's figures as lines of text: the outcomes used, old and new weights, and the
    held-out AUC and precision@k of each."""
    noun = "hires" if result.positive == "hired" else "reached the interview"
    header = "".join(f"{name:>10}" for name in WEIGHT_NAMES)
    lines = [
        f"outcomes: {result.positives} {noun}, {result.negatives} negatives (rejected or "
        f"withdrawn), {result.undecided} undecided, {result.requisitions} requisition"
        f"{'' if result.requisitions == 1 else 's'}",
        f"weights before: {source}",
        f"{'weights':<10}{header}",
    ]
    for label, weights in (("before", result.before), ("after", result.after)):
        values = weights_dict(weights)
        lines.append(f"{label:<10}" + "".join(f"{values[name]:>10.4f}" for name in WEIGHT_NAMES))
    if result.fit.kept:
        lines.append(
            f"kept as they were: {', '.join(result.fit.kept)} (no variation among these outcomes)"
        )
    lines.append(f"held out: {result.validation}")
    gain = result.auc_gain_interval
    interval = f"  (gain, 95% interval {gain[0]:+.3f} to {gain[1]:+.3f})" if gain else ""
    lines.append(f"  {'':<26}{'before':>10}{'after':>10}")
    lines.append(
        f"  {'AUC within requisitions':<26}{_figure(result.auc_before):>10}"
        f"{_figure(result.auc_after):>10}{interval}"
    )
    lines.append(
        f"  {f'precision@{result.k} re-ranked':<26}{_figure(result.precision_before):>10}"
        f"{_figure(result.precision_after):>10}"
    )
    if result.folds_on_current_weights:
        lines.append(
            f"  ({result.folds_on_current_weights} of the folds could not be fitted and kept the "
            "current weights)"
        )
    return lines
