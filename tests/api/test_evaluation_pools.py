"""Agency pools: read from a folder written here, imported into a fresh database (SQLite, as
the suite does, and PostgreSQL) and ranked by the match service with its default filters; the
baselines see only the graduates the service could return; `jobmatch evaluate --pool` and the
classic JSON keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.evaluation.pools import (
    PoolFormatError,
    evaluate_pool,
    rank_pool_through_service,
    rank_pool_with_core,
    read_pool,
)
from app.matching.majors import load_major_table
from app.ranking import RankerParams
from app.settings import get_settings
from tests.support import SHARED_DIR

JOB = {
    "external_id": "pool-job",
    "title": "电气工程师（应届生）",
    "company": "宁波某自动化有限公司",
    "city": "宁波",
    "education": "本科",
    "majors": ["电气工程及其自动化", "自动化"],
    "skills": ["PLC", "电气设计", "CAD"],
    "description": "负责PLC编程与电气设计，电气工程及其自动化相关专业。",
}
OTHER_MAJORS = ("会计学", "市场营销", "英语", "汉语言文学", "旅游管理")


def _graduate(number: int, major: str, skills: list[str], **extra: object) -> dict[str, object]:
    return {
        "external_id": f"g{number:03d}",
        "name": f"毕业生{number:03d}",
        "major": major,
        "education": "本科",
        "city": "宁波",
        "desired_cities": ["宁波"],
        "skills": skills,
        "summary": f"{major}专业，熟悉{'、'.join(skills)}。",
        **extra,
    }


def write_pool(folder: Path) -> Path:
    """10 right answers who fit, 2 of the right majors the 本科 posting filters out (大专),
    25 of other majors."""
    folder.mkdir(parents=True)
    graduates = [
        _graduate(n, "电气工程及其自动化" if n % 2 else "自动化", ["PLC", "电气设计", "CAD"])
        for n in range(10)
    ]
    graduates += [
        _graduate(n, "电气工程及其自动化", ["PLC", "电气设计", "CAD"], education="大专")
        for n in range(10, 12)
    ]
    graduates += [
        _graduate(n, OTHER_MAJORS[n % len(OTHER_MAJORS)], ["Office", "沟通能力"])
        for n in range(12, 37)
    ]
    lines = "".join(json.dumps(g, ensure_ascii=False) + "\n" for g in graduates)
    (folder / "graduates.jsonl").write_text(lines, "utf-8")
    (folder / "job.json").write_text(json.dumps(JOB, ensure_ascii=False), "utf-8")
    labels = "".join(f"{g['external_id']}\t{1 if n < 12 else 0}\n" for n, g in enumerate(graduates))
    (folder / "labels.tsv").write_text(labels, "utf-8")
    return folder


def test_pool_ranked_through_the_service(tmp_path: Path, live_database_url: str) -> None:
    pool = read_pool(write_pool(tmp_path / "elec"))
    assert pool.name == "elec" and len(pool.graduates) == 37 and sum(pool.labels.values()) == 12
    ranking = rank_pool_through_service(
        pool, shared_dir=SHARED_DIR, folder=tmp_path, database_url=live_database_url
    )
    right = {f"g{n:03d}" for n in range(10)}
    assert set(ranking.top[:10]) == right
    assert ranking.top == ranking.ranked  # fewer graduates than the asked 90
    # The 大专 graduates fail the posting's education filter: never returned.
    assert len(ranking.ranked) == 35 and not {"g010", "g011"} & set(ranking.ranked)
    # No personal data in the documents the ranking saw.
    assert "毕业生" not in repr(ranking.graduates)
    # The ablation's path (the core on the same documents, the service's default filters)
    # gives the service's answer.
    core = rank_pool_with_core(ranking, RankerParams(), majors=load_major_table(SHARED_DIR))
    assert core == ranking.ranked


def test_pool_precision_and_same_filter_baselines(tmp_path: Path) -> None:
    pool = read_pool(write_pool(tmp_path / "elec"))
    result, _ = evaluate_pool(pool, shared_dir=SHARED_DIR)
    everything = result.metrics["all"]
    # 10 right answers can be returned: 10 of the first 30, 10 of the first 90.
    assert everything["ranker"] == {"p@30": pytest.approx(10 / 30), "p@90": pytest.approx(10 / 90)}
    # Labelled right but filtered out, the two 大专 graduates would lift a baseline to 12/30.
    for name in ("tfidf_word", "tfidf_char", "bm25"):
        assert everything[name]["p@30"] == pytest.approx(10 / 30), name
    assert result.ratios["all"]["p@30"] == pytest.approx(1.0)
    ceiling = result.corpus.pop("ceiling")
    assert result.corpus == {
        "graduates": 37,
        "eligible": 35,
        "right_answers": 12,
        "eligible_right_answers": 10,
        "posting": JOB["title"],
    }
    # A perfect order of the 35 eligible puts the 10 returnable right answers first.
    assert ceiling["all"] == {"p@30": pytest.approx(10 / 30), "p@90": pytest.approx(10 / 90)}
    assert ceiling["all"] == everything["ranker"]
    # A random order of the 35 eligible: 10 right answers in 35, over 30 places of 30 and 35
    # places of 90.
    assert result.chance["all"] == {
        "p@30": pytest.approx(10 / 35),
        "p@90": pytest.approx(10 / 90),
    }
    assert set(result.chance["held-out"]) == {"p@15", "p@45"}
    assert set(result.metrics["held-out"]["ranker"]) == {"p@15", "p@45"}


def test_pool_format_errors_name_the_file_and_line(tmp_path: Path) -> None:
    folder = write_pool(tmp_path / "bad")
    (folder / "labels.tsv").write_text("g000\t1\ng001\tyes\n", "utf-8")
    with pytest.raises(PoolFormatError, match=r"labels.tsv line 2: field grade"):
        read_pool(folder)
    (folder / "job.json").unlink()
    with pytest.raises(PoolFormatError, match="missing job.json"):
        read_pool(folder)


def test_pool_with_a_bad_record_is_refused_with_its_field(tmp_path: Path) -> None:
    folder = write_pool(tmp_path / "bad")
    job = dict(JOB, salary_min=9000, salary_max=6000)
    (folder / "job.json").write_text(json.dumps(job, ensure_ascii=False), "utf-8")
    with pytest.raises(PoolFormatError, match=r"job.json record 1 .*field salary"):
        rank_pool_through_service(read_pool(folder), shared_dir=SHARED_DIR, folder=tmp_path)


def test_evaluate_pool_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_pool(tmp_path / "elec")
    assert main(["evaluate", "--pool", str(folder), "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out.strip().splitlines()[-1])
    assert report["pools"]["elec"]["metrics"]["all"]["ranker"]["p@30"] == pytest.approx(1 / 3)
    assert report["sets"] == {}
    assert "== pool elec" in out

    assert main(["evaluate", "--pool", str(tmp_path / "nowhere")]) == 2
    assert "missing graduates.jsonl" in capsys.readouterr().err


def test_evaluate_files_keeps_its_json_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = [
        {"external_id": "j1", "title": "PLC工程师", "company": "甲", "skills": ["PLC"]},
        {"external_id": "j2", "title": "会计", "company": "乙", "skills": ["财务报表"]},
        {"external_id": "j3", "title": "销售代表", "company": "丙", "skills": ["客户开发"]},
    ]
    graduates = [
        {"external_id": "q1", "skills": ["PLC", "电气设计"]},
        {"external_id": "q2", "skills": ["财务报表", "会计"]},
    ]
    for name, rows in (("jobs.jsonl", jobs), ("graduates.jsonl", graduates)):
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        (tmp_path / name).write_text(lines, "utf-8")
    (tmp_path / "qrels.tsv").write_text("q1\tj1\t2\nq2\tj2\t1\nq2\tj3\t0\n", "utf-8")
    args = ["evaluate", "--json", "--halves"]
    args += [
        "--jobs",
        str(tmp_path / "jobs.jsonl"),
        "--graduates",
        str(tmp_path / "graduates.jsonl"),
    ]
    assert main([*args, "--qrels", str(tmp_path / "qrels.tsv")]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"ranker", "baselines", "ratio_to_best_baseline"} <= set(report)
    assert set(report["baselines"]) == {"tfidf_word", "tfidf_char", "bm25"}
    # Each query's own posting is the only relevant one and shares its words: found first.
    assert report["ranker"]["mrr"] == pytest.approx(1.0)
    assert set(report["halves"]) == {"tune", "held-out"}


def test_suite_finds_the_pools_of_the_shared_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_pool(tmp_path / "shared" / "eval" / "pools" / "elec")
    monkeypatch.setenv("JOBMATCH_SHARED_DIR", str(tmp_path / "shared"))
    get_settings.cache_clear()
    try:
        assert main(["evaluate", "--suite", "--only", "pools", "--only", "dev", "--json"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    report = json.loads(out.strip().splitlines()[-1])
    assert list(report["pools"]) == ["elec"]
    # The dev files are not in this shared folder: skipped with the reason, not an error.
    assert report["sets"] == {}
    assert len(report["skipped"]) == 1 and report["skipped"][0].startswith("dev: ")
    assert "absent" in report["skipped"][0]


def test_suite_crosses_the_pools_with_the_other_postings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pools = tmp_path / "shared" / "eval" / "pools"
    write_pool(pools / "elec")
    # A second pool whose posting wants accountants: its own graduates are the elec pool's.
    accounting = write_pool(pools / "acct")
    job = dict(JOB, title="会计（应届生）", majors=["会计学"], skills=["财务报表"])
    job["description"] = "会计"
    (accounting / "job.json").write_text(json.dumps(job, ensure_ascii=False), "utf-8")
    monkeypatch.setenv("JOBMATCH_SHARED_DIR", str(tmp_path / "shared"))
    get_settings.cache_clear()
    try:
        assert main(["evaluate", "--suite", "--only", "cross-pools", "--json"]) == 0
        # Without the majors catalogue there is no class to label by: skipped, with why.
        no_catalogue = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        catalogue = tmp_path / "shared" / "data" / "lexicon" / "majors_undergraduate.csv"
        catalogue.parent.mkdir(parents=True)
        catalogue.write_text(
            "name,discipline,major_class,degree\n"
            "电气工程及其自动化,工学,电气类,工学学士\n自动化,工学,自动化类,工学学士\n"
            "会计学,管理学,工商管理类,管理学学士\n市场营销,管理学,工商管理类,管理学学士\n",
            "utf-8",
        )
        assert main(["evaluate", "--suite", "--only", "cross-pools", "--json"]) == 0
    finally:
        get_settings.cache_clear()
    assert no_catalogue["pools"] == {}
    assert no_catalogue["skipped"] == [
        "cross-pools: data/lexicon/majors_undergraduate.csv absent (the labels need its classes)"
    ]
    out = capsys.readouterr().out
    report = json.loads(out.strip().splitlines()[-1])
    # Each pool for the other pool's posting and for the project's two electrical postings,
    # never for its own (that is the part "pools").
    assert set(report["pools"]) == {
        f"{graduates}×{posting}"
        for graduates, others in (("acct", "elec"), ("elec", "acct"))
        for posting in (others, "keyongtai-elec", "keyongtai-elec-auto")
    }
    # The accountant posting's right answers in the elec pool are its 会计学 and 市场营销
    # graduates (工商管理类), labelled by class, not by the pool's own labels.tsv.
    accountants = report["pools"]["elec×acct"]
    assert accountants["corpus"]["right_answers"] == 10
    assert accountants["corpus"]["posting"] == "会计（应届生）"
    # 电气工程及其自动化 and 自动化 listed: the 12 graduates of either class are right answers.
    assert report["pools"]["elec×keyongtai-elec-auto"]["corpus"]["right_answers"] == 12
    assert "ceiling (a perfect order)" in out
    assert "chance (a random order)" in out
