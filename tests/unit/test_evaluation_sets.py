"""The seekers set builder on tiny files written here: labels from the two boards' industry
fields only, a fixed seeded sample, and profiles that carry nothing but roles, tags and
education."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.evaluation.sets import (
    BUILT_SET_QUERIES,
    build_campus_set,
    build_seekers_set,
    industries_match,
    industry_segments,
    read_labelled_set,
)
from tests.support import SHARED_DIR


def test_industry_labels_pair_by_segment_equality_or_prefix() -> None:
    assert industry_segments("房地产/建筑/建材/工程") == {"房地产", "建筑", "建材", "工程"}
    assert industry_segments("专业服务/咨询(财会/法律/人力资源等)") >= {"咨询", "人力资源"}
    assert industries_match("房地产/建筑/建材/工程", "房地产开发")
    assert industries_match("专业服务/咨询(财会/法律/人力资源等)", "人力资源服务")
    assert industries_match("农/林/牧/渔", "农|林|牧|渔|其他")
    # A shared ending is not a shared industry, and generic parts pair nothing.
    assert not industries_match("工程", "生物工程")
    assert not industries_match("外包服务", "餐饮服务")
    assert not industries_match("其他", "其他")
    assert not industries_match(None, "银行")


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def _files(tmp_path: Path) -> tuple[Path, Path]:
    jobs = _write_jsonl(
        tmp_path / "jobs.jsonl",
        [
            {"external_id": "j-bank", "title": "柜员", "company": "甲银行", "industry": "银行"},
            {
                "external_id": "j-house",
                "title": "置业顾问",
                "company": "乙",
                "industry": "房地产开发",
            },
            {"external_id": "j-build", "title": "施工员", "company": "丙", "industry": "工程施工"},
            {"external_id": "j-bio", "title": "实验员", "company": "丁", "industry": "生物工程"},
        ],
    )
    seekers = _write_jsonl(
        tmp_path / "seekers.jsonl",
        [
            {
                "external_id": "s-house",
                "education": "大专",
                "age": 27,
                "desired_roles": ["销售业务"],
                "desired_industries": ["房地产/建筑/建材/工程"],
                "skills": ["房产销售", "置业顾问"],
            },
            {
                "external_id": "s-bank",
                "education": "本科",
                "desired_roles": ["柜员"],
                "desired_industries": ["银行", "保险"],
                "skills": [],
            },
            # No posting in any wanted industry: not a query.
            {
                "external_id": "s-none",
                "desired_roles": ["导游"],
                "desired_industries": ["旅游/度假"],
                "skills": ["导游证"],
            },
            # Nothing to rank with: not a query.
            {"external_id": "s-empty", "desired_roles": [], "desired_industries": ["银行"]},
        ],
    )
    return seekers, jobs


def test_seekers_set_labels_come_from_industries_only(tmp_path: Path) -> None:
    seekers, jobs = _files(tmp_path)
    labelled = build_seekers_set(seekers, jobs, size=10)
    assert labelled.query_ids == ["s-bank", "s-house"]
    assert labelled.qrels == {"s-bank": {"j-bank": 1}, "s-house": {"j-house": 1, "j-build": 1}}
    assert labelled.job_ids == ["j-bank", "j-house", "j-build", "j-bio"]
    bank, house = labelled.queries
    assert (bank.desired_roles, bank.skills, bank.education) == (("柜员",), (), "本科")
    assert house.skills == ("房产销售", "置业顾问")
    # The profile says nothing of the label (desired industries) and has no free text or city.
    assert (house.summary, house.major, house.city, house.desired_cities) == ("", None, None, ())


def test_seekers_sample_is_seeded(tmp_path: Path) -> None:
    seekers, jobs = _files(tmp_path)
    first = build_seekers_set(seekers, jobs, size=1, seed="a")
    again = build_seekers_set(seekers, jobs, size=1, seed="a")
    assert first.query_ids == again.query_ids
    assert len(first.query_ids) == 1
    others = {build_seekers_set(seekers, jobs, size=1, seed=s).query_ids[0] for s in "abcdefgh"}
    assert others == {"s-bank", "s-house"}


def test_labelled_set_from_files(tmp_path: Path) -> None:
    _, jobs = _files(tmp_path)
    graduates = _write_jsonl(
        tmp_path / "graduates.jsonl",
        [{"external_id": "g1", "skills": ["柜员"]}, {"external_id": "g2", "skills": ["施工"]}],
    )
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("g1\tj-bank\t2\ng1\tj-bio\t0\nnot a judgement\n", "utf-8")
    labelled = read_labelled_set("tiny", jobs, graduates, qrels)
    assert labelled.qrels == {"g1": {"j-bank": 2, "j-bio": 0}, "g2": {}}
    assert [g.skills for g in labelled.queries] == [("柜员",), ("施工",)]


def test_seekers_set_from_the_shared_files() -> None:
    seekers, jobs = (
        SHARED_DIR / "data/seekers_zhilian.jsonl",
        SHARED_DIR / "data/jobs_zhaopin.jsonl",
    )
    if not (seekers.is_file() and jobs.is_file()):
        pytest.skip(f"{seekers} or {jobs} is absent: shared data not available on this machine")
    labelled = build_seekers_set(seekers, jobs)
    assert len(labelled.query_ids) == BUILT_SET_QUERIES == len(set(labelled.query_ids))
    assert all(labelled.qrels[q] for q in labelled.query_ids)
    assert all(g.desired_roles or g.skills for g in labelled.queries)
    # Some seekers want industries the postings lack, some want many: the labels differ.
    sizes = sorted(len(labelled.qrels[q]) for q in labelled.query_ids)
    assert sizes[0] < sizes[-1] < len(labelled.jobs)


def test_campus_set_profiles_want_the_posting_city(tmp_path: Path) -> None:
    _, jobs = _files(tmp_path)
    rows: list[dict[str, object]] = [
        # jobs.jsonl has no city: give the corpus one by rewriting it with cities.
        {
            "external_id": "c-bank",
            "title": "储备干部",
            "company": "某银行",
            "city": "南京",
            "industry": "银行",
            "skills": ["柜面"],
            "description": "负责柜面业务。",
        },
        # A city with no relevant posting: not a query.
        {
            "external_id": "c-far",
            "title": "柜员",
            "company": "某行",
            "city": "拉萨",
            "industry": "银行",
            "skills": ["柜面"],
            "description": "",
        },
        # No skills: not a query.
        {
            "external_id": "c-bare",
            "title": "施工员",
            "company": "某建",
            "city": "南京",
            "industry": "房产/家居/物业/建筑",
            "skills": [],
            "description": "现场施工",
        },
    ]
    campus = _write_jsonl(tmp_path / "campus.jsonl", rows)
    corpus = [json.loads(line) for line in jobs.read_text("utf-8").splitlines()]
    for record, city in zip(corpus, ["南京", "北京", "南京", "南京"], strict=True):
        record["city"] = city
    jobs = _write_jsonl(tmp_path / "jobs.jsonl", corpus)
    labelled = build_campus_set(campus, jobs, size=10)
    assert labelled.query_ids == ["c-bank"]
    assert labelled.qrels == {"c-bank": {"j-bank": 1}}
    (profile,) = labelled.queries
    assert profile.desired_cities == ("南京",) and profile.skills == ("柜面",)
    # The title, company and industry stay out of the profile.
    assert "储备干部" not in repr(profile) and "银行" not in repr(profile)
