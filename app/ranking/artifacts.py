"""Fitted ranking artifacts: one folder per version with vocabulary, idf, term associations,
parameters, the lexicon the tokens came from, and a manifest."""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from app.ranking import lexicon
from app.ranking.coherence import CoherenceParams
from app.ranking.documents import (
    GraduateDocument,
    GraduateTextFields,
    JobDocument,
    JobTextFields,
    TextFields,
)
from app.ranking.majors import MajorTable
from app.ranking.params import RankerParams, text_model_options
from app.ranking.ranker import Ranker
from app.ranking.text import Tokenizer
from app.ranking.vectorize import TextModel
from app.ranking.weights import MajorFitLevels, StructuredFitWeights

# 2: per-field normalised vectors and coherence-weighted jobs (associations.npz); format 1
# vectors cannot be rebuilt by this code.
FORMAT = 2
LIBRARIES = ("numpy", "scipy", "scikit-learn", "jieba", "rjieba")


def library_versions() -> dict[str, str]:
    """Versions of the libraries a score depends on."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def make_version(created_at: datetime, data_hash: str) -> str:
    """Folder name of a version: creation time, then the start of the data hash."""
    return f"{created_at:%Y%m%dT%H%M%SZ}-{data_hash[:8] or 'empty'}"


def params_to_dict(params: RankerParams) -> dict[str, Any]:
    """Parameters as plain JSON values."""
    return asdict(params)


def params_from_dict(data: dict[str, Any]) -> RankerParams:
    """Parameters back from params_to_dict."""
    fields = data["fields"]
    nested: dict[str, Any] = {
        "fields": TextFields(
            job=JobTextFields(**fields["job"]), graduate=GraduateTextFields(**fields["graduate"])
        ),
        "weights": StructuredFitWeights(**data["weights"]),
        "major_levels": MajorFitLevels(**data["major_levels"]),
        "coherence": CoherenceParams(**data["coherence"]),
    }
    flat = {key: value for key, value in data.items() if key not in nested}
    return RankerParams(**nested, **flat)


def save_ranker(ranker: Ranker, root: str | Path, *, version: str | None = None) -> Path:
    """Write the fitted model to root/<version>/ and return that folder."""
    model = ranker.text_model_
    tokenizer = model.tokenizer_
    created_at = datetime.now(UTC).replace(microsecond=0)
    version = version or make_version(created_at, ranker.data_hash_)
    folder = Path(root) / version
    folder.mkdir(parents=True, exist_ok=False)
    (folder / "vocabulary.txt").write_text(
        "".join(f"{term}\n" for term in model.terms_.tolist()), encoding="utf-8"
    )
    np.save(folder / "idf.npy", model.idf_)
    sp.save_npz(folder / "associations.npz", model.associations_)
    _write_json(folder / "params.json", params_to_dict(ranker.params_))
    majors = ranker.encoder_.majors_
    _write_json(
        folder / "lexicon.json",
        {
            "user_words": list(tokenizer.dictionary_words()),
            "stopwords": sorted(
                lexicon.default_stopwords() if tokenizer.stopwords is None else tokenizer.stopwords
            ),
            "synonym_groups": _synonym_groups(tokenizer.synonym_map()),
            "drop_protected": tokenizer.drop_protected,
            "drop_schools": tokenizer.drop_schools,
            "hmm": tokenizer.hmm,
            "split_compounds": tokenizer.split_compounds,
            "major_classes": majors.classes_,
            "related_classes": sorted(list(pair) for pair in majors.related_),
        },
    )
    _write_json(
        folder / "manifest.json",
        {
            "format": FORMAT,
            "version": version,
            "created_at": created_at.isoformat(),
            "data_hash": ranker.data_hash_,
            "n_terms": len(model.terms_),
            "n_fit_documents": model.n_fit_documents_,
            "tokenizer_backend": tokenizer.backend_in_use,
            "libraries": library_versions(),
        },
    )
    return folder


def load_ranker(
    folder: str | Path,
    *,
    jobs: Sequence[JobDocument] = (),
    graduates: Sequence[GraduateDocument] = (),
    keep_documents: bool = True,
) -> Ranker:
    """A ranker from a version folder, indexing the given documents with the saved vocabulary
    (kept for explanations unless keep_documents is False)."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValueError(f"unsupported artifact format {manifest.get('format')!r} in {folder}")
    params = params_from_dict(json.loads((folder / "params.json").read_text("utf-8")))
    saved = json.loads((folder / "lexicon.json").read_text("utf-8"))
    tokenizer = Tokenizer(
        backend=params.backend,
        user_words=tuple(saved["user_words"]),
        stopwords=frozenset(saved["stopwords"]),
        synonym_groups=[tuple(group) for group in saved["synonym_groups"]],
        drop_protected=saved["drop_protected"],
        # Versions saved before the switch existed kept school names.
        drop_schools=saved.get("drop_schools", False),
        hmm=saved["hmm"],
        # Versions saved before the switch existed kept compounds whole.
        split_compounds=saved.get("split_compounds", False),
    )
    terms = (folder / "vocabulary.txt").read_text("utf-8").split("\n")[:-1]
    model = TextModel.from_vocabulary(
        terms,
        np.load(folder / "idf.npy"),
        sp.load_npz(folder / "associations.npz"),
        tokenizer=tokenizer,
        **text_model_options(params),
    )
    majors = MajorTable(
        major_classes=saved["major_classes"],
        related_classes=[(a, b) for a, b in saved["related_classes"]],
        synonyms=tokenizer.synonym_map(),
    )
    ranker = Ranker(params, tokenizer=tokenizer, majors=majors, keep_documents=keep_documents)
    ranker.data_hash_ = manifest["data_hash"]
    ranker.version_ = manifest["version"]
    ranker._start(model)
    ranker.upsert_jobs(jobs)
    ranker.upsert_graduates(graduates)
    return ranker


def _synonym_groups(mapping: dict[str, str]) -> list[list[str]]:
    groups: dict[str, list[str]] = {}
    for variant, canonical in sorted(mapping.items()):
        groups.setdefault(canonical, [canonical]).append(variant)
    return [groups[key] for key in sorted(groups)]


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")
