"""Write a `bench all` run: results.json (every number), report.md (each figure beside its peers
and the issue's goals, pass or short) and PNG plots."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.benchmarks.corpus import __doc__ as CORPUS_NOTE
from app.benchmarks.fixes import FIXES
from app.benchmarks.goals import verdicts

PLOTS = {
    "latency": "latency_vs_size.png",
    "throughput": "throughput_vs_size.png",
    "build": "build_and_rss_vs_size.png",
    "http": "http_vs_connections.png",
    "tokenise": "tokenise.png",
}


def write_report(results: dict[str, Any], folder: Path) -> list[Path]:
    """results.json, report.md and the plots in `folder`; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    results = {**results, "goals": verdicts(results)}
    written = [folder / "results.json"]
    written[0].write_text(json.dumps(results, indent=1, default=float) + "\n", "utf-8")
    written += _plots(results, folder)
    report = folder / "report.md"
    report.write_text(render_markdown(results, [p.name for p in written[1:]]), "utf-8")
    written.append(report)
    return written


def _number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.0f} M"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def render_markdown(results: dict[str, Any], plots: list[str]) -> str:
    """The report as Markdown."""
    machine = results.get("machine", {})
    start_load = machine.get("load_average_start") or [None]
    end_load = machine.get("load_average_end") or [None]
    lines = [
        f"# jobmatch benchmark ({results.get('mode', '?')} run, {results.get('started_at', '')})",
        "",
        f"{machine.get('cpus')} CPUs, Python {machine.get('python')}; 1-minute load average "
        f"{_number(start_load[0])} at the start, {_number(end_load[0])} at the end (every "
        "figure moves with it on a shared machine). Total "
        f"{_number(results.get('seconds', {}).get('total'), 0)} s. Medians of repeats; "
        "ratios are ours over the peer, measured in the same run.",
        "",
        "## Goals (issue 12)",
        "",
    ]
    lines += _table(
        ["figure", "measured", "goal", "verdict", "CPU-time figure", "conditions"],
        [
            [g["figure"], f"{_number(g['value'])} {g['unit']}", g["goal"], f"**{g['verdict']}**"]
            + [_cpu_cell(g), g["conditions"]]
            for g in results["goals"]
        ],
    )
    lines += [
        "The verdict is on the wall clock, as the goals are stated. The CPU-time figure is the "
        "same measurement in this thread's CPU time: on a shared machine the wall clock also "
        "counts the time spent waiting for a core, so it shows what a quiet machine would "
        "give.",
        "",
    ]
    for section in (_tokenise, _sizes, _batch, _http):
        lines += section(results)
    lines += ["## Plots", ""] + [f"![{name}]({name})" for name in plots] + [""]
    lines += ["## What each change bought", "", FIXES.strip(), ""]
    lines += ["## The scaled corpus", "", (CORPUS_NOTE or "").strip(), ""]
    return "\n".join(lines)


def _cpu_cell(goal: dict[str, Any]) -> str:
    if goal.get("verdict_cpu") is None:
        return "–"
    return f"{_number(goal['value_cpu'])} {goal['unit']} ({goal['verdict_cpu']})"


def _tokenise(results: dict[str, Any]) -> list[str]:
    data = results.get("tokenise")
    if not data:
        return []
    lines = [
        "## Tokenising",
        "",
        f"The same real posting texts ({data['texts']} of them, {data['ours']['megabytes']:.1f} "
        f"MB; jieba on the first {data['jieba']['megabytes']:.2f} MB), median of "
        f"{data['repeats']}. Ours gives jieba's tokens on every text compared: "
        f"**{data['identical_to_jieba']}**.",
        "",
    ]
    rows = [
        [
            name,
            _number(data[key]["mb_s"]),
            _number(data[key]["mb_s_cpu"]),
            f"×{data[key]['mb_s'] / data['jieba']['mb_s']:.1f}",
        ]
        for name, key in (
            ("jieba", "jieba"),
            ("raw rjieba.cut (its own dictionary, nothing else)", "rjieba_raw"),
            ("ours (NFKC, domain dictionary, stopwords, synonyms)", "ours"),
        )
    ]
    return lines + _table(["tokenizer", "MB/s", "MB/s (CPU time)", "vs jieba"], rows)


def _sizes(results: dict[str, Any]) -> list[str]:
    sizes = results.get("sizes")
    if not sizes:
        return []
    lines = [
        "## One query top-10, build, online add, RSS against corpus size",
        "",
        "Ours: text cosine, structured fit, filters and top-10 of an indexed graduate (one "
        "thread). scipy: `q @ J.T` on our own vectors + argpartition, text only. bm25s: our "
        "token lists, one thread. Latency p50 / p99 in ms; ratio = peer p50 / ours p50.",
        "",
    ]
    rows = []
    for size, data in sizes.items():
        ours = data["ours"]
        row = [f"{int(size):,}", _number(data["build_s"], 1)]
        row.append(
            f"{_number(ours['p50_ms'])} / {_number(ours['p99_ms'])} (CPU "
            f"{_number(ours['cpu_p50_ms'])} / {_number(ours['cpu_p99_ms'])})"
        )
        for peer in ("scipy", "bm25s"):
            peer_data = data.get(peer)
            if peer_data:
                row.append(
                    f"{_number(peer_data['p50_ms'])} / {_number(peer_data['p99_ms'])} "
                    f"(×{peer_data['p50_ms'] / ours['p50_ms']:.1f})"
                )
            else:
                row.append("–")
        row.append(_number(ours["per_s"], 0))
        row.append(_number(data["online_add"]["p50_ms"]))
        row.append(_number(data["query_after_add"]["p50_ms"]))
        row.append(_number(data["peak_rss_mb"], 0))
        rows.append(row)
    header = ["postings", "build s", "ours", "scipy", "bm25s", "ours q/s"]
    header += ["add p50 ms", "query after add p50", "peak RSS MB"]
    return lines + _table(header, rows)


def _batch(results: dict[str, Any]) -> list[str]:
    data = results.get("batch")
    if not data:
        return []
    lines = [
        "## Batch, every pair scored",
        "",
        f"{data['graduates']:,} synthetic graduates × {data['postings']:,} real postings, "
        f"top-{data['top_k']}, status filter only; median of {data['repeat']}. Naive: "
        "scikit-learn `cosine_similarity` on chunks of 512 queries + argsort (text only).",
        "",
    ]
    rows = [
        [
            f"{side} for each {'graduate' if side == 'jobs' else 'job'}",
            f"{side_data['pairs'] / 1e6:,.0f} M",
            f"{side_data['wall_s']:.2f} s",
            f"{side_data['pairs_per_s'] / 1e6:,.0f} M",
            f"{side_data['naive_pairs_per_s'] / 1e6:,.1f} M",
            f"×{side_data['ratio']:.1f}",
        ]
        for side, side_data in data["sides"].items()
    ]
    header = ["side", "pairs", "ours", "ours pairs/s", "naive pairs/s", "ratio"]
    return lines + _table(header, rows)


def _http(results: dict[str, Any]) -> list[str]:
    data = results.get("http")
    if not data:
        return []
    lines = [
        "## HTTP",
        "",
        f"`jobmatch serve --workers {data['workers']}` on loopback (SQLite, auth on: every "
        "match request carries an agency key), "
        f"{data['postings']:,} postings, {data['graduates']:,} graduates; "
        "`GET /v1/graduates/{id}/matches?k=10` over every graduate in turn (the issue's "
        "workload: after the first pass a worker answers from its snapshot's kept answers) "
        "and the same with k from 10 to 14, every request a query not asked before (each one "
        f"ranked), against `/healthz`; {data['duration_s']:g} s each, from "
        "app.benchmarks.loadgen in another process. "
        f"Loaded in {data['load_s']:.0f} s, server up in {data['startup_s']:.0f} s.",
        "",
    ]
    first = data.get("first_pass")
    if first:
        lines += [
            f"Before the timed runs, one cold pass over every graduate at {first['connections']} "
            f"connections (each answer ranked, each matched company's near-duplicates found, "
            f"by whichever worker took the query): {first['req_s']:,.0f} req/s, p50 "
            f"{_number(first['p50_ms'])} ms, p99 {_number(first['p99_ms'])} ms. A worker that "
            "had not seen a query yet still ranks it in the runs below.",
            "",
        ]
    rows = []
    for point in data["sweep"]:
        row = [str(point["connections"])]
        for name in ("healthz", "matches", "matches_distinct"):
            answered = point[name]
            row.append(
                f"{answered['req_s']:,.0f} ({_number(answered['p50_ms'])} / "
                f"{_number(answered['p99_ms'])} ms)"
            )
        row.append(f"{point['ceiling_share']:.0%} / {point['distinct_ceiling_share']:.0%}")
        failed = sum(
            point[name]["non_2xx"] + point[name]["errors"]
            for name in ("matches", "matches_distinct")
        )
        row.append(str(failed))
        rows.append(row)
    header = ["connections", "/healthz req/s (p50 / p99)", "matches req/s (p50 / p99)"]
    header += ["distinct queries req/s (p50 / p99)", "share of ceiling", "failed"]
    lines += _table(header, rows)
    check = data.get("freshness_check")
    if check:
        lines += [
            "The freshness check before each match query (median µs, interleaved, on the same "
            f"database): the change-log query {check['log_query_us']:,.0f} µs, the SQLite change "
            f"signal {check['change_signal_us']:,.1f} µs; a request reads the log only when "
            "the signal moved.",
            "",
        ]
    keys = data.get("key_check")
    if keys:
        lines += [
            "Finding who a key is (median µs, interleaved, on the same database): the key "
            f"lookup {keys['lookup_us']:,.0f} µs (a session and a query: what every request "
            f"ran before), a worker's principal cache "
            f"{keys['cached_us']:,.1f} µs; the cache is valid until the next commit to the "
            "database.",
            "",
        ]
    serialisation = data.get("serialisation_ms", {})
    if serialisation:
        lines += ["Serialising 1,000 matches (median ms):", ""]
        lines += _table(
            ["encoder", "ms"], [[name, f"{value:.3f}"] for name, value in serialisation.items()]
        )
    return lines


def _plots(results: dict[str, Any], folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    drawers: dict[str, Callable[[Any, dict[str, Any]], bool]] = {
        "latency": _plot_latency,
        "throughput": _plot_throughput,
        "build": _plot_build,
        "http": _plot_http,
        "tokenise": _plot_tokenise,
    }
    for key, draw in drawers.items():
        figure = plt.figure(figsize=(7, 4.2))
        if draw(figure, results):
            path = folder / PLOTS[key]
            figure.tight_layout()
            figure.savefig(path, dpi=110)
            written.append(path)
        plt.close(figure)
    return written


def _size_series(results: dict[str, Any], method: str, key: str) -> tuple[list[int], list[float]]:
    sizes = results.get("sizes") or {}
    xs = [int(size) for size, data in sizes.items() if method in data]
    ys = [float(data[method][key]) for data in sizes.values() if method in data]
    return xs, ys


def _plot_latency(figure: Any, results: dict[str, Any]) -> bool:
    if not results.get("sizes"):
        return False
    axes = figure.add_subplot()
    for method, colour in (("ours", "C0"), ("scipy", "C1"), ("bm25s", "C2")):
        for key, style in (("p50_ms", "-o"), ("p99_ms", "--x")):
            xs, ys = _size_series(results, method, key)
            if xs:
                axes.plot(xs, ys, style, color=colour, label=f"{method} {key[:3]}")
    axes.set(xscale="log", yscale="log", xlabel="postings", ylabel="ms per query (top-10)")
    axes.set_title("One query top-10 against corpus size")
    axes.legend(fontsize=8)
    return True


def _plot_throughput(figure: Any, results: dict[str, Any]) -> bool:
    if not results.get("sizes"):
        return False
    axes = figure.add_subplot()
    for method in ("ours", "scipy", "bm25s"):
        xs, ys = _size_series(results, method, "per_s")
        if xs:
            axes.plot(xs, ys, "-o", label=method)
    axes.set(xscale="log", yscale="log", xlabel="postings", ylabel="queries/s, one thread")
    axes.set_title("Query throughput against corpus size")
    axes.legend(fontsize=8)
    return True


def _plot_build(figure: Any, results: dict[str, Any]) -> bool:
    sizes = results.get("sizes")
    if not sizes:
        return False
    xs = [int(size) for size in sizes]
    left, right = figure.subplots(1, 2)
    left.plot(xs, [d["build_s"] for d in sizes.values()], "-o")
    left.set(xscale="log", yscale="log", xlabel="postings", ylabel="s", title="build (fit)")
    right.plot(xs, [d["peak_rss_mb"] for d in sizes.values()], "-o", label="ours")
    right.set(xscale="log", xlabel="postings", ylabel="MB", title="peak RSS")
    return True


def _plot_http(figure: Any, results: dict[str, Any]) -> bool:
    http = results.get("http")
    if not http:
        return False
    left, right = figure.subplots(1, 2)
    connections = [p["connections"] for p in http["sweep"]]
    for name in ("healthz", "matches", "matches_distinct"):
        left.plot(connections, [p[name]["req_s"] for p in http["sweep"]], "-o", label=name)
        right.plot(connections, [p[name]["p99_ms"] for p in http["sweep"]], "-o", label=name)
    left.set(xscale="log", xlabel="connections", ylabel="req/s", title="throughput")
    right.set(xscale="log", yscale="log", xlabel="connections", ylabel="ms", title="p99")
    left.legend(fontsize=8)
    return True


def _plot_tokenise(figure: Any, results: dict[str, Any]) -> bool:
    data = results.get("tokenise")
    if not data:
        return False
    axes = figure.add_subplot()
    names = ["jieba", "rjieba_raw", "ours"]
    axes.bar(names, [data[name]["mb_s"] for name in names])
    axes.set(ylabel="MB/s", title="Tokenising the same posting texts")
    return True
