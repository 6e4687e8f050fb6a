"""`jobmatch bench all` on a tiny corpus: every part runs (a real server on loopback included)
and the report, the JSON and the plots are written with the keys the goals read. No figure is
checked against a speed: speed lives in the benchmark's numbers, not in tests."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from app.benchmarks.goals import GOALS, lookup
from app.benchmarks.report import PLOTS, write_report
from app.benchmarks.suite import QUICK, measure_all

# Real processes or large inputs: more than ~5 s each in a full run on two cores.
pytestmark = pytest.mark.slow

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"

TINY = replace(
    QUICK,
    tokenise_mb=0.05,
    tokenise_jieba_texts=20,
    repeats=1,
    sizes=(300,),
    queries=5,
    adds=2,
    batch_graduates=50,
    batch_naive_rows=16,
    http_postings=100,
    http_graduates=20,
    http_connections=(2,),
    http_duration_s=0.5,
    http_goal_connections=2,
    http_workers=1,
)


@pytest.mark.slow
def test_bench_all_writes_every_figure(tmp_path: Path) -> None:
    if not (SHARED / "data" / "jobs_zhaopin.jsonl").exists():
        pytest.skip("shared data not available on this machine")
    results = measure_all(TINY, SHARED, real_limit=200)
    results["mode"] = "tiny"
    written = write_report(results, tmp_path)

    assert {p.name for p in written} == {"results.json", "report.md", *PLOTS.values()}
    saved = json.loads((tmp_path / "results.json").read_text("utf-8"))
    assert saved["tokenise"]["identical_to_jieba"] is True
    size = saved["sizes"]["300"]
    assert size["postings"] == 300
    assert {"ours", "scipy", "bm25s", "online_add", "query_after_add"} <= set(size)
    assert size["ours"]["calls"] == 5 and size["peak_rss_mb"] > 0
    assert set(saved["batch"]["sides"]) == {"jobs", "graduates"}
    # The cold pass asks for every graduate exactly once, and answers them all.
    first = saved["http"]["first_pass"]
    assert first["requests"] == TINY.http_graduates and first["non_2xx"] == first["errors"] == 0
    assert "## What each change bought" in (tmp_path / "report.md").read_text("utf-8")
    # Served with auth on: every match request above carried the run's agency key.
    assert set(saved["http"]["key_check"]) == {"lookup_us", "cached_us"}
    point = saved["http"]["goal_point"]
    assert point["matches"]["requests"] > 0 and point["healthz"]["requests"] > 0
    for name in ("matches", "matches_distinct"):
        assert point[name]["requests"] > 0
        assert point[name]["non_2xx"] == 0 and point[name]["errors"] == 0
    assert point["healthz"]["non_2xx"] == 0
    # Every goal names a number the run wrote (the 100k and 1M ones are absent at this size).
    measured = {goal.key for goal in GOALS if lookup(saved, goal.path) is not None}
    assert {"tokenise", "batch", "http_req_s", "http_p99", "http_ceiling"} <= measured
    verdicts = {row["key"]: row["verdict"] for row in saved["goals"]}
    assert verdicts["fit_100k"] == "not measured"
    # The HTTP rows say what was served, not the goal's 100k.
    conditions = {row["key"]: row["conditions"] for row in saved["goals"]}
    assert conditions["http_req_s"].startswith("100 postings, 1 worker, 2 connections (goal: 100k")
    assert verdicts["tokenise"] in {"pass", "short"}
    report = (tmp_path / "report.md").read_text("utf-8")
    assert "## Goals (issue 12)" in report and "| tokenising, ours |" in report
