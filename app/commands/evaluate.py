"""`jobmatch evaluate`: rank jobs for each graduate profile and score the ranking against
judgements, next to three baselines computed in the same run on the same tokens."""

from __future__ import annotations

import argparse
import gzip
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from app.learning.report import add_outcome_arguments, run_outcomes
from app.ranking import (
    FilterSpec,
    GraduateDocument,
    JobDocument,
    Ranker,
    RankerParams,
    StructuredFitWeights,
    Tokenizer,
)
from app.ranking.evaluation import (
    evaluate_run,
    split_halves,
    tfidf_char_baseline,
    tfidf_word_baseline,
    to_run,
)
from app.ranking.vectorize import NGRAM_FIELD_SUFFIX

logger = logging.getLogger(__name__)

DEFAULT_JOBS = "../shared/data/jobs_campus.jsonl"
DEFAULT_GRADUATES = "../shared/eval/dev/graduates.jsonl"
DEFAULT_QRELS = "../shared/eval/dev/qrels.tsv"
RECALL_DEPTH = 100
# The judgements are about text relevance (job categories), so the evaluation scores text and
# major fit only; education, city and salary stay out of the score and act as filters only
# where a profile states them (unknown values pass every filter).
EVALUATION_WEIGHTS = StructuredFitWeights(text=1.0, major=0.1, education=0.0, city=0.0, salary=0.0)
EVALUATION_FILTERS = FilterSpec(status=True, education=False, city=True, salary=True)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `evaluate` sub-command."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score the ranker and baselines against relevance judgements",
        description=__doc__,
    )
    parser.add_argument("--jobs", default=DEFAULT_JOBS, help="jobs JSONL (default: %(default)s)")
    parser.add_argument(
        "--graduates", default=DEFAULT_GRADUATES, help="profiles JSONL (default: %(default)s)"
    )
    parser.add_argument(
        "--qrels", default=DEFAULT_QRELS, help="judgements TSV or .tsv.gz (default: %(default)s)"
    )
    parser.add_argument("--k", type=int, default=10, help="NDCG cut-off (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of results")
    parser.add_argument(
        "--halves", action="store_true", help="also report each half of the queries"
    )
    # `--outcomes` scores past shortlists against recorded hires instead (app.learning).
    add_outcome_arguments(parser)
    parser.set_defaults(func=run)


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Records of a JSONL file (gzip if the name ends in .gz)."""
    opener: Any = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """query id → {document id: grade} from a tab-separated file."""
    qrels: dict[str, dict[str, int]] = {}
    opener: Any = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3 and parts[2].strip().lstrip("-").isdigit():
                qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def _strings(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value if v)


def job_from_record(number: int, record: dict[str, Any]) -> JobDocument:
    """A JobDocument from an import-format record; the id is its position in the file."""
    return JobDocument(
        id=number,
        title=record.get("title") or "",
        company=record.get("company") or "",
        city=record.get("city"),
        district=record.get("district"),
        industry=record.get("industry"),
        education=record.get("education") or "不限",
        experience=record.get("experience"),
        majors=_strings(record.get("majors")),
        skills=_strings(record.get("skills")),
        description=record.get("description") or "",
        salary_min=record.get("salary_min"),
        salary_max=record.get("salary_max"),
        headcount=record.get("headcount"),
    )


def graduate_from_record(number: int, record: dict[str, Any]) -> GraduateDocument:
    """A GraduateDocument from an import-format profile (protected fields are never read)."""
    return GraduateDocument(
        id=number,
        school=record.get("school"),
        major=record.get("major"),
        education=record.get("education") or "不限",
        graduation_year=record.get("graduation_year"),
        city=record.get("city"),
        desired_cities=_strings(record.get("desired_cities")),
        desired_roles=_strings(record.get("desired_roles")),
        skills=_strings(record.get("skills")),
        summary=record.get("summary") or "",
        expected_salary=record.get("expected_salary"),
    )


def evaluate(
    jobs_path: str | Path,
    graduates_path: str | Path,
    qrels_path: str | Path,
    *,
    k: int = 10,
    params: RankerParams | None = None,
    filters: FilterSpec = EVALUATION_FILTERS,
    halves: bool = False,
) -> dict[str, Any]:
    """Metrics of the ranker and the three baselines on one evaluation set."""
    from tqdm import tqdm

    job_records = list(read_jsonl(jobs_path))
    graduate_records = list(read_jsonl(graduates_path))
    qrels = read_qrels(qrels_path)
    job_ids = [str(r.get("external_id", n)) for n, r in enumerate(job_records)]
    query_ids = [str(r.get("external_id", n)) for n, r in enumerate(graduate_records)]
    jobs = [job_from_record(n, r) for n, r in enumerate(job_records)]
    graduates = [graduate_from_record(n, r) for n, r in enumerate(graduate_records)]
    qrels = {q: qrels.get(q, {}) for q in query_ids}
    timings: dict[str, float] = {}

    started = time.perf_counter()
    params = params or RankerParams(weights=EVALUATION_WEIGHTS)
    ranker = Ranker(params).fit(jobs, graduates)
    timings["fit"] = time.perf_counter() - started
    started = time.perf_counter()
    results = []
    chunk = 64
    with tqdm(total=len(graduates), desc="ranking", unit="query", disable=None) as bar:
        for start in range(0, len(graduates), chunk):
            batch = [g.id for g in graduates[start : start + chunk]]
            results.extend(ranker.jobs_for_graduates(batch, RECALL_DEPTH, filters=filters))
            bar.update(len(batch))
    timings["rank"] = time.perf_counter() - started
    runs: dict[str, dict[str, list[str]]] = {
        "ranker": {
            q: [job_ids[m.id] for m in matches]
            for q, matches in zip(query_ids, results, strict=True)
        }
    }

    # The word baselines and BM25 share one token stream: plain jieba (its own dictionary, no
    # domain words, stopwords or synonyms; punctuation and bare numbers dropped) over the same
    # fields concatenated once; the character baseline sees the same fields as raw text.
    model = ranker.text_model_
    plain = Tokenizer(
        backend=params.backend, user_words=(), stopwords=(), synonym_groups=(), drop_protected=False
    )
    doc_tokens = [plain.tokenize(_job_text(job)) for job in jobs]
    query_tokens = [plain.tokenize(_graduate_text(g)) for g in graduates]
    started = time.perf_counter()
    runs["tfidf_word"] = to_run(
        query_ids, tfidf_word_baseline(doc_tokens, query_tokens, RECALL_DEPTH), job_ids
    )
    timings["tfidf_word"] = time.perf_counter() - started
    started = time.perf_counter()
    runs["tfidf_char"] = to_run(
        query_ids,
        tfidf_char_baseline(
            [_job_text(j) for j in jobs], [_graduate_text(g) for g in graduates], RECALL_DEPTH
        ),
        job_ids,
    )
    timings["tfidf_char"] = time.perf_counter() - started
    started = time.perf_counter()
    runs["bm25"] = to_run(query_ids, bm25_baseline(doc_tokens, query_tokens, RECALL_DEPTH), job_ids)
    timings["bm25"] = time.perf_counter() - started

    # Ablation, not a baseline: word TF-IDF on the ranker's own tokens, to show how much of the
    # gain comes from the tokens and how much from the rest of the method.
    same_doc = [_flat(model.job_field_tokens(job)) for job in jobs]
    same_query = [_flat(model.graduate_field_tokens(g)) for g in graduates]
    runs["tfidf_word_ranker_tokens"] = to_run(
        query_ids, tfidf_word_baseline(same_doc, same_query, RECALL_DEPTH), job_ids
    )

    metrics = {
        name: evaluate_run(run, qrels, k=k, recall_depth=RECALL_DEPTH) for name, run in runs.items()
    }
    report: dict[str, Any] = {
        "ranker": metrics["ranker"],
        "baselines": {name: metrics[name] for name in ("tfidf_word", "tfidf_char", "bm25")},
    }
    best = {key: max(m[key] for m in report["baselines"].values()) for key in report["ranker"]}
    report["ablation"] = {"tfidf_word_ranker_tokens": metrics["tfidf_word_ranker_tokens"]}
    report["ratio_to_best_baseline"] = {
        key: (report["ranker"][key] / best[key] if best[key] else None) for key in best
    }
    if halves:
        report["halves"] = [
            {
                name: evaluate_run(run, {q: qrels[q] for q in half}, k=k, recall_depth=RECALL_DEPTH)
                for name, run in runs.items()
            }
            for half in split_halves(query_ids)
        ]
    report["corpus"] = {
        "jobs": len(jobs),
        "queries": len(graduates),
        "judged_queries": sum(1 for q in query_ids if any(g > 0 for g in qrels[q].values())),
        "terms": len(model.terms_),
        "tokenizer": model.tokenizer_.backend_in_use,
    }
    report["seconds"] = {name: round(value, 2) for name, value in timings.items()}
    return report


def bm25_baseline(
    doc_tokens: Sequence[list[str]], query_tokens: Sequence[list[str]], depth: int
) -> list[list[int]]:
    """BM25 (the bm25s library, Lucene variant, default k1/b) over the given tokens."""
    import bm25s

    retriever = bm25s.BM25()
    # bm25s cannot index an empty document list entry, so an empty document gets a token no
    # query has: it stays in the corpus and scores 0.
    retriever.index([t or ["\x00"] for t in doc_tokens], show_progress=False)
    depth = min(depth, len(doc_tokens))
    positions, _scores = retriever.retrieve(
        [t or ["\x00"] for t in query_tokens], k=depth, show_progress=False, n_threads=1
    )
    return [[int(p) for p in row] for row in positions]


def _flat(fields: dict[str, list[str]]) -> list[str]:
    """The word tokens of every field (the character n-gram fields are not words)."""
    return [
        token
        for name, tokens in fields.items()
        if not name.endswith(NGRAM_FIELD_SUFFIX)
        for token in tokens
    ]


def _job_text(job: JobDocument) -> str:
    return " ".join([job.title, " ".join(job.skills), " ".join(job.majors), job.description])


def _graduate_text(graduate: GraduateDocument) -> str:
    parts = [graduate.major or "", " ".join(graduate.skills), " ".join(graduate.desired_roles)]
    return " ".join([*parts, graduate.summary])


def run(args: argparse.Namespace) -> int:
    """Run the evaluation and print the metrics (last line JSON with --json)."""
    if args.outcomes:
        return run_outcomes(args)
    for path in (args.jobs, args.graduates, args.qrels):
        if not Path(path).exists():
            print(f"error: {path} does not exist", file=sys.stderr)
            return 2
    report = evaluate(args.jobs, args.graduates, args.qrels, k=args.k, halves=args.halves)
    rows = [("ranker", report["ranker"]), *report["baselines"].items()]
    rows += [(f"({name})", values) for name, values in report["ablation"].items()]
    keys = list(report["ranker"])
    print(f"{'':28}" + "".join(f"{key:>12}" for key in keys))
    for name, values in rows:
        print(f"{name:28}" + "".join(f"{values[key]:12.4f}" for key in keys))
    ratios = report["ratio_to_best_baseline"]
    print(f"{'ratio to best baseline':28}" + "".join(f"{(ratios[key] or 0):12.3f}" for key in keys))
    print(f"corpus: {report['corpus']}  seconds: {report['seconds']}")
    if args.json:
        print(orjson.dumps(report).decode())
    return 0
