"""Tuned blend weights on disk: models/<tenant>/weights.json, written by `jobmatch tune` and
read by the match engine whenever it fits a new ranking version for the tenant.

A fitted version keeps the weights it was fitted with in its own params.json, so a version
loaded later scores exactly as it did; weights.json only decides the weights of the next fit.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from app.ranking import RankerParams, StructuredFitWeights
from app.ranking.artifacts import params_from_dict

TUNED_WEIGHTS_FILE = "weights.json"
# The pointer file the match engine writes next to its versions (app.matching.engine).
POINTER_FILE = "CURRENT.json"
WEIGHT_NAMES: tuple[str, ...] = tuple(field.name for field in fields(StructuredFitWeights))


def read_tuned_weights(tenant_dir: Path) -> StructuredFitWeights | None:
    """The tenant's tuned weights, or None when `jobmatch tune` has not saved any."""
    path = tenant_dir / TUNED_WEIGHTS_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text("utf-8"))
    return StructuredFitWeights(**{name: float(data["weights"][name]) for name in WEIGHT_NAMES})


def read_tuned_record(tenant_dir: Path) -> dict[str, Any] | None:
    """The whole weights.json (weights and provenance), or None."""
    path = tenant_dir / TUNED_WEIGHTS_FILE
    if not path.is_file():
        return None
    record: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return record


def write_tuned_weights(
    tenant_dir: Path, weights: StructuredFitWeights, provenance: dict[str, Any]
) -> Path:
    """Write weights.json atomically (a fit running meanwhile reads the old file or the new)."""
    tenant_dir.mkdir(parents=True, exist_ok=True)
    path = tenant_dir / TUNED_WEIGHTS_FILE
    temporary = path.with_name(path.name + ".tmp")
    record = {"weights": asdict(weights), **provenance}
    temporary.write_text(
        json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8"
    )
    temporary.replace(path)
    return path


def with_tuned_weights(params: RankerParams | None, tenant_dir: Path) -> RankerParams | None:
    """`params` with the tenant's tuned blend weights in place of its own, when there are any."""
    tuned = read_tuned_weights(tenant_dir)
    if tuned is None:
        return params
    return replace(params or RankerParams(), weights=tuned)


def live_weights(tenant_dir: Path) -> tuple[StructuredFitWeights, str]:
    """The weights the tenant's current ranking version scores with, and where they came from:
    that version's params.json; else weights.json (the next fit's); else the defaults."""
    pointer = tenant_dir / POINTER_FILE
    if pointer.is_file():
        version = json.loads(pointer.read_text("utf-8")).get("version")
        params_file = tenant_dir / str(version) / "params.json"
        if version and params_file.is_file():
            params = params_from_dict(json.loads(params_file.read_text("utf-8")))
            return params.weights, f"ranking version {version}"
    tuned = read_tuned_weights(tenant_dir)
    if tuned is not None:
        return tuned, f"{TUNED_WEIGHTS_FILE} (no version fitted yet)"
    return StructuredFitWeights(), "the defaults"
