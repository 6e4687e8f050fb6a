"""Tokenising speed on the same real posting texts: jieba, raw `rjieba.cut` and our tokenizer
(NFKC, segmentation with the domain dictionary, stopwords, synonyms), medians of repeats, and
whether ours gives jieba's tokens on every text."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from app.ranking import JobDocument, Tokenizer


def posting_texts(jobs: Sequence[JobDocument], megabytes: float) -> list[str]:
    """Title, skills and description of the first postings, up to `megabytes` of UTF-8."""
    texts: list[str] = []
    size = 0
    for job in jobs:
        text = f"{job.title} {' '.join(job.skills)} {job.description}"
        texts.append(text)
        size += len(text.encode())
        if size >= megabytes * 1e6:
            break
    return texts


def _median_seconds(work: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median wall-clock and thread CPU seconds of `repeats` runs. On a shared machine the
    wall clock includes waiting for a core; the CPU time is what the work itself costs."""
    walls, cpus = [], []
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.thread_time()
        work()
        walls.append(time.perf_counter() - started)
        cpus.append(time.thread_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def measure_tokenise(texts: Sequence[str], *, repeats: int, jieba_texts: int) -> dict[str, Any]:
    """MB/s of each tokenizer (median of `repeats`); jieba, about 20× slower, on the first
    `jieba_texts` texts only. Ours is checked token for token against jieba on those."""
    import rjieba

    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    slow_texts = list(texts[:jieba_texts])
    slow_megabytes = sum(len(t.encode()) for t in slow_texts) / 1e6
    jieba = Tokenizer(backend="jieba")
    ours = Tokenizer(backend="rjieba")
    for tokenizer in (jieba, ours):
        tokenizer.tokenize("预热")  # the dictionary load is a one-off, not throughput
    raw = rjieba.Jieba()  # its own dictionary: the segmenter alone, as shipped
    raw.cut("预热", False)
    identical = jieba.tokenize_many(slow_texts) == ours.tokenize_many(slow_texts)
    seconds = {
        "jieba": _median_seconds(lambda: jieba.tokenize_many(slow_texts), repeats),
        "rjieba_raw": _median_seconds(lambda: [raw.cut(t, False) for t in texts], repeats),
        "ours": _median_seconds(lambda: ours.tokenize_many(texts), repeats),
    }
    sizes = {"jieba": slow_megabytes, "rjieba_raw": megabytes, "ours": megabytes}
    result: dict[str, Any] = {
        name: {
            "mb_s": sizes[name] / wall,
            "mb_s_cpu": sizes[name] / cpu,
            "megabytes": sizes[name],
            "seconds": wall,
        }
        for name, (wall, cpu) in seconds.items()
    }
    result["identical_to_jieba"] = identical
    result["texts"] = len(texts)
    result["repeats"] = repeats
    result["ours_over_jieba"] = result["ours"]["mb_s"] / result["jieba"]["mb_s"]
    result["ours_over_raw"] = result["ours"]["mb_s"] / result["rjieba_raw"]["mb_s"]
    return result
