"""`jobmatch tune`: fit the blend weights (text, major, education, city, salary) on the
agency's recorded outcomes and save them as a new ranking version.

Hires are positives; candidacies that left the pipeline are negatives (see
app.learning.outcomes). The weights are saved with their provenance in the tenant's model
store (app.model_store), and a new version is fitted with them and published, so running
servers adopt it as they do any refit. Nothing is saved when the held-out AUC does not
improve (unless --force) or with --dry-run.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from app.commands import add_tenant_option
from app.db import create_db_engine, create_session_factory
from app.learning.outcomes import POSITIVES, read_outcomes
from app.learning.report import format_tune_result
from app.learning.tune import MIN_OUTCOMES, TuneRefused, tune_weights, weights_dict
from app.matching.engine import MatchEngine
from app.matching.majors import load_major_table
from app.model_store import ModelStore
from app.settings import get_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `tune` sub-command."""
    parser = subparsers.add_parser(
        "tune",
        help="fit the blend weights on recorded outcomes and save a new ranking version",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_tenant_option(parser)
    parser.add_argument(
        "--min-outcomes",
        type=int,
        default=MIN_OUTCOMES,
        help="positives and negatives needed, each (default: %(default)s)",
    )
    parser.add_argument(
        "--positive",
        choices=POSITIVES,
        default="hired",
        help="what counts as a positive outcome (default: %(default)s)",
    )
    parser.add_argument(
        "--k", type=int, default=30, help="precision@k cut-off (default: %(default)s)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the figures, save nothing")
    parser.add_argument(
        "--force", action="store_true", help="save even if the held-out AUC did not improve"
    )
    parser.add_argument(
        "--no-refit",
        action="store_true",
        help="save the tuned weights only; the next refit (automatic or admin refit) uses them",
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON line of results")
    parser.add_argument("--database-url", help="default: JOBMATCH_DATABASE_URL")
    parser.add_argument("--models-dir", help="default: JOBMATCH_MODELS_DIR")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Tune; 0 when weights were saved (or computed with --dry-run), 1 when refused."""
    settings = get_settings()
    url = args.database_url or settings.database_url
    models_dir = Path(args.models_dir) if args.models_dir else settings.models_dir
    store = ModelStore(models_dir)
    store.tenant_dir(args.tenant)  # a malformed tenant id is refused before any work
    engine = create_db_engine(url)
    try:
        with Session(engine) as session:
            outcomes = read_outcomes(session, tenant=args.tenant)
        current, source = store.live_weights(args.tenant)
        try:
            result = tune_weights(
                outcomes,
                current,
                positive=args.positive,
                min_outcomes=args.min_outcomes,
                k=args.k,
            )
        except TuneRefused as refused:
            print(f"tune: refused: {refused}")
            return 1
        for line in format_tune_result(result, source=source):
            print(line)
        saved = False
        version = None
        if args.dry_run:
            print("dry run: nothing saved")
        elif not result.improved and not args.force:
            print("not saved: the held-out AUC did not improve (--force saves anyway)")
        else:
            path = store.write_tuned_weights(
                args.tenant,
                result.after,
                {
                    "tenant": args.tenant,
                    "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "label": result.positive,
                    "outcomes": {
                        "positives": result.positives,
                        "negatives": result.negatives,
                        "undecided": result.undecided,
                        "requisitions": result.requisitions,
                    },
                    "previous": {"weights": weights_dict(result.before), "source": source},
                    "metrics": result.metrics(),
                },
            )
            saved = True
            print(f"saved {path}")
            if not args.no_refit:
                matcher = MatchEngine(
                    session_factory=create_session_factory(engine),
                    models_dir=models_dir,
                    majors=load_major_table(settings.shared_dir),
                )
                version = matcher.refit(args.tenant)
                if version is None:
                    print("no jobs or graduates indexed: the next fit will use these weights")
                else:
                    print(f"new ranking version {version} fitted with these weights, published")
        if args.json:
            print(
                json.dumps(
                    {
                        "tenant": args.tenant,
                        "saved": saved,
                        "version": version,
                        "before": weights_dict(result.before),
                        "after": weights_dict(result.after),
                        "positives": result.positives,
                        "negatives": result.negatives,
                        **result.metrics(),
                    },
                    ensure_ascii=False,
                )
            )
        return 0 if saved or args.dry_run else 1
    finally:
        engine.dispose()
