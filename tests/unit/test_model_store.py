"""The model store: versions, the pointer, retention and tuned weights under models/<tenant>/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.model_store import VERSIONS_KEPT, ModelStore, Pointer
from app.ranking import (
    GraduateDocument,
    JobDocument,
    Ranker,
    RankerParams,
    StructuredFitWeights,
    Tokenizer,
)
from app.ranking.artifacts import params_to_dict
from app.tenant_paths import UnsafePathError

TENANT = "zhongbo"
JOBS = [
    JobDocument(id=1, title="电气工程师", skills=("PLC",), city="宁波", majors=("自动化",)),
    JobDocument(id=2, title="Java开发", skills=("Java", "MySQL"), city="杭州"),
]
GRADUATES = [
    GraduateDocument(id=10, major="自动化", skills=("PLC编程",), desired_cities=("宁波",)),
    GraduateDocument(id=11, skills=("Java",), summary="后端开发"),
]


def fitted(params: RankerParams | None = None) -> Ranker:
    return Ranker(params or RankerParams(max_df=1.0), tokenizer=Tokenizer(backend="jieba")).fit(
        JOBS, GRADUATES
    )


def test_publish_points_to_the_new_version_and_loads_it_back(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    assert store.read_pointer(TENANT) is None and store.current_version(TENANT) is None
    ranker = fitted()
    version = store.publish(TENANT, ranker, change_id=7)
    assert store.read_pointer(TENANT) == Pointer(version, 7)
    assert store.current_version(TENANT) == version
    assert store.manifest(TENANT, version)["data_hash"] == ranker.data_hash_
    loaded = store.load(TENANT, version, jobs=JOBS, graduates=GRADUATES)
    assert loaded.graduates_for_job(1, 2) == ranker.graduates_for_job(1, 2)


def test_publish_keeps_the_newest_versions_only(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    ranker = fitted()
    versions = [store.publish(TENANT, ranker, change_id=n) for n in range(VERSIONS_KEPT + 2)]
    kept = sorted(path.name for path in store.tenant_dir(TENANT).iterdir() if path.is_dir())
    assert kept == versions[-VERSIONS_KEPT:]
    assert store.current_version(TENANT) == versions[-1]


def test_purge_keeps_the_current_version_or_none(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    ranker = fitted()
    first, current = (store.publish(TENANT, ranker, change_id=n) for n in range(2))
    assert store.purge_old_versions(TENANT) == 1
    assert not store.has_version(TENANT, first) and store.has_version(TENANT, current)
    assert store.purge_old_versions(TENANT, keep_current=False) == 1
    assert store.current_version(TENANT) is None  # the pointer names a removed version
    assert store.purge_old_versions("nobody") == 0


def test_names_that_would_leave_the_models_dir_are_refused(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    with pytest.raises(UnsafePathError):
        store.tenant_dir("../etc")
    assert not store.has_version(TENANT, "../../etc")
    with pytest.raises(UnsafePathError):
        store.load(TENANT, "../../etc")


def test_tuned_weights_round_trip_and_precedence(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    defaults = StructuredFitWeights()
    assert store.read_tuned_weights(TENANT) is None
    assert store.live_weights(TENANT) == (defaults, "the defaults")
    params = RankerParams(max_df=0.5)
    assert store.params_for_fit(params, TENANT) is params
    tuned = StructuredFitWeights(text=1.0, major=0.4, education=0.03, city=0.05, salary=0.02)
    path = store.write_tuned_weights(TENANT, tuned, {"fitted_at": "2026-01-01T00:00:00+00:00"})
    assert json.loads(path.read_text("utf-8"))["fitted_at"].startswith("2026")
    assert store.read_tuned_weights(TENANT) == tuned
    record = store.read_tuned_record(TENANT)
    assert record is not None and record["weights"]["major"] == 0.4
    assert store.live_weights(TENANT) == (tuned, "weights.json (no version fitted yet)")
    merged = store.params_for_fit(params, TENANT)
    assert merged is not None and merged.weights == tuned and merged.max_df == 0.5
    # A published version's own params win: that is what the live index scores with.
    saved = RankerParams(max_df=1.0, weights=StructuredFitWeights(major=0.2))
    version = store.publish(TENANT, fitted(saved), change_id=1)
    assert json.loads((store.version_dir(TENANT, version) / "params.json").read_text("utf-8")) == (
        params_to_dict(saved)
    )
    assert store.live_weights(TENANT) == (saved.weights, f"ranking version {version}")
