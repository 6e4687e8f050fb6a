"""Artifacts: save a fitted ranker, load it back, get identical scores."""

from __future__ import annotations

import json
from pathlib import Path

from app.ranking import GraduateDocument, JobDocument, Ranker, RankerParams, Tokenizer

JOBS = [
    JobDocument(
        id=1, title="电气工程师", skills=("PLC", "AutoCAD"), city="深圳", majors=("自动化",)
    ),
    JobDocument(id=2, title="Java开发", skills=("Java", "MySQL"), city="北京"),
    JobDocument(id=3, title="数控编程", description="负责数控机床调试", city="苏州"),
    JobDocument(id=4, title="销售代表", description="客户开发，市场拓展"),
]
GRADUATES = [
    GraduateDocument(id=10, major="电气自动化", skills=("PLC编程",), desired_cities=("广东",)),
    GraduateDocument(id=11, skills=("Java", "Spring"), summary="后端开发"),
    GraduateDocument(id=12, summary="熟悉CNC数控编程", education="大专"),
]


def test_save_and_load_give_identical_scores(tmp_path: Path) -> None:
    ranker = Ranker(RankerParams(max_df=1.0), tokenizer=Tokenizer(backend="jieba"))
    ranker.fit(JOBS, GRADUATES)
    folder = ranker.save(tmp_path)
    assert folder.parent == tmp_path
    assert {p.name for p in folder.iterdir()} == {
        "vocabulary.txt",
        "idf.npy",
        "associations.npz",
        "params.json",
        "lexicon.json",
        "manifest.json",
    }
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["version"] == folder.name
    assert manifest["data_hash"] == ranker.data_hash_ and len(ranker.data_hash_) == 64
    assert {"numpy", "scipy", "scikit-learn", "jieba"} <= set(manifest["libraries"])
    assert manifest["created_at"]

    loaded = Ranker.load(folder, jobs=JOBS, graduates=GRADUATES)
    for graduate in GRADUATES:
        assert loaded.jobs_for_graduate(graduate.id, k=4) == ranker.jobs_for_graduate(
            graduate.id, k=4
        )
    for job in JOBS:
        assert loaded.graduates_for_job(job.id, k=3) == ranker.graduates_for_job(job.id, k=3)


def test_refit_makes_a_new_version(tmp_path: Path) -> None:
    ranker = Ranker(RankerParams(max_df=1.0), tokenizer=Tokenizer(backend="jieba"))
    ranker.fit(JOBS[:2], GRADUATES)
    ranker.upsert_jobs(JOBS[2:])
    refitted = ranker.refit()
    assert refitted.data_hash_ != ranker.data_hash_
    assert len(refitted.text_model_.terms_) > len(ranker.text_model_.terms_)
    assert ranker.save(tmp_path).name != refitted.save(tmp_path).name


def test_a_version_keeps_the_segmentation_it_was_fitted_with(tmp_path: Path) -> None:
    whole = Ranker(tokenizer=Tokenizer(backend="jieba", split_compounds=False)).fit(JOBS)
    folder = whole.save(tmp_path)
    assert Ranker.load(folder, jobs=JOBS).text_model_.tokenizer_.split_compounds is False
    # A version saved before the switch existed has no such key: it kept compounds whole.
    lexicon = json.loads((folder / "lexicon.json").read_text("utf-8"))
    del lexicon["split_compounds"]
    (folder / "lexicon.json").write_text(json.dumps(lexicon), "utf-8")
    old = Ranker.load(folder, jobs=JOBS)
    assert old.text_model_.tokenizer_.tokenize("电气工程师") == ["电气工程师"]
    split = Ranker(tokenizer=Tokenizer(backend="jieba")).fit(JOBS).save(tmp_path / "new")
    loaded = Ranker.load(split, jobs=JOBS).text_model_.tokenizer_
    assert loaded.tokenize("电气工程师") == ["电气", "工程", "工程师"]
