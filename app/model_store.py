"""The one owner of `models/<tenant>/`: its ranking versions, the pointer to the current one,
their retention, and the tenant's tuned blend weights.

    models/<tenant>/CURRENT.json      {"version": ..., "change_id": ...}, replaced atomically
    models/<tenant>/<version>/        one fitted ranking version (app.ranking.artifacts)
    models/<tenant>/weights.json      weights from `jobmatch tune` for the next fit

The ranking core writes and reads the files of one version; where versions live, which one is
current and which are kept is decided here. Every path goes through app.tenant_paths, so a
tenant id or version name can never lead outside the models dir.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from app.ranking import GraduateDocument, JobDocument, Ranker, RankerParams, StructuredFitWeights
from app.ranking.artifacts import params_from_dict
from app.tenant_paths import UnsafePathError, confine, remove_tree, tenant_dir

POINTER_FILE = "CURRENT.json"
TUNED_WEIGHTS_FILE = "weights.json"
# Versions kept per tenant: the current one and the previous ones a worker may still serve.
VERSIONS_KEPT = 3


class Pointer(NamedTuple):
    """The tenant's current version and the newest document change it was fitted on."""

    version: str
    change_id: int


def _write_atomically(path: Path, text: str) -> None:
    # A name of this thread's own: a refit and a request adopting a version may write at once.
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(text, "utf-8")
    temporary.replace(path)  # atomic: readers see the old file or the new, never half of one


@dataclass(frozen=True, slots=True)
class ModelStore:
    """Fitted ranking versions and tuned weights of every tenant under `root`."""

    root: Path

    def tenant_dir(self, tenant: str) -> Path:
        """The tenant's folder (not created); refuses an id that is not a safe slug."""
        return tenant_dir(self.root, tenant)

    def version_dir(self, tenant: str, version: str) -> Path:
        """The folder of one version of the tenant (checked to lie inside it)."""
        return confine(self.root, self.tenant_dir(tenant) / version)

    def has_version(self, tenant: str, version: str) -> bool:
        """Whether the version's folder is there (never for a name that would leave it)."""
        try:
            return self.version_dir(tenant, version).is_dir()
        except UnsafePathError:
            return False

    # --- the pointer ----------------------------------------------------------------------

    def read_pointer(self, tenant: str) -> Pointer | None:
        """The tenant's current version, or None before its first fit."""
        path = self.tenant_dir(tenant) / POINTER_FILE
        if not path.is_file():
            return None
        data = json.loads(path.read_text("utf-8"))
        return Pointer(str(data["version"]), int(data.get("change_id", 0)))

    def current_version(self, tenant: str) -> str | None:
        """The version the tenant's servers use, when its folder is still there."""
        pointer = self.read_pointer(tenant)
        if pointer is None or not self.has_version(tenant, pointer.version):
            return None
        return pointer.version

    # --- versions -------------------------------------------------------------------------

    def publish(self, tenant: str, ranker: Ranker, *, change_id: int) -> str:
        """Save a freshly fitted ranker as a new version, point to it, prune old versions."""
        folder = self.tenant_dir(tenant)
        # Microseconds in the name: two refits of unchanged data never collide.
        version = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{ranker.data_hash_[:8]}"
        ranker.save(folder, version=version)
        _write_atomically(
            folder / POINTER_FILE, json.dumps({"version": version, "change_id": change_id})
        )
        versions = sorted(
            (path for path in folder.iterdir() if path.is_dir()), key=lambda path: path.name
        )
        for stale in versions[:-VERSIONS_KEPT]:
            if stale.name != version:
                remove_tree(self.root, stale)
        return version

    def load(
        self,
        tenant: str,
        version: str,
        *,
        jobs: Sequence[JobDocument] = (),
        graduates: Sequence[GraduateDocument] = (),
        keep_documents: bool = True,
    ) -> Ranker:
        """A saved version with the given documents indexed in its vocabulary."""
        return Ranker.load(
            self.version_dir(tenant, version),
            jobs=jobs,
            graduates=graduates,
            keep_documents=keep_documents,
        )

    def manifest(self, tenant: str, version: str) -> dict[str, Any]:
        """The version's manifest (created_at, data hash, counts, library versions)."""
        path = self.version_dir(tenant, version) / "manifest.json"
        manifest: dict[str, Any] = json.loads(path.read_text("utf-8"))
        return manifest

    def purge_old_versions(self, tenant: str, *, keep_current: bool = True) -> int:
        """Remove every saved version but the current one (an erasure's text may be in them)."""
        folder = self.tenant_dir(tenant)
        if not folder.is_dir():
            return 0
        pointer = self.read_pointer(tenant) if keep_current else None
        current = pointer.version if pointer else None
        stale = [path for path in folder.iterdir() if path.is_dir() and path.name != current]
        for path in stale:
            remove_tree(self.root, path)
        return len(stale)

    # --- tuned weights --------------------------------------------------------------------
    # A fitted version keeps the weights it was fitted with in its own params.json, so a
    # version loaded later scores exactly as it did; the tuned weights decide the next fit.

    def read_tuned_record(self, tenant: str) -> dict[str, Any] | None:
        """The tuned weights with their provenance, or None when `jobmatch tune` saved none."""
        path = self.tenant_dir(tenant) / TUNED_WEIGHTS_FILE
        if not path.is_file():
            return None
        record: dict[str, Any] = json.loads(path.read_text("utf-8"))
        return record

    def read_tuned_weights(self, tenant: str) -> StructuredFitWeights | None:
        """The tenant's tuned weights, or None."""
        record = self.read_tuned_record(tenant)
        if record is None:
            return None
        saved = record["weights"]
        return StructuredFitWeights(
            **{field.name: float(saved[field.name]) for field in fields(StructuredFitWeights)}
        )

    def write_tuned_weights(
        self, tenant: str, weights: StructuredFitWeights, provenance: dict[str, Any]
    ) -> Path:
        """Save tuned weights atomically (a fit running meanwhile reads the old or the new)."""
        folder = self.tenant_dir(tenant)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / TUNED_WEIGHTS_FILE
        record = {"weights": asdict(weights), **provenance}
        _write_atomically(
            path, json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        )
        return path

    def params_for_fit(self, params: RankerParams | None, tenant: str) -> RankerParams | None:
        """`params` with the tenant's tuned blend weights in place of its own, if there are any."""
        tuned = self.read_tuned_weights(tenant)
        if tuned is None:
            return params
        return replace(params or RankerParams(), weights=tuned)

    def live_weights(self, tenant: str) -> tuple[StructuredFitWeights, str]:
        """The weights the tenant's current version scores with, and where they came from:
        that version's params.json; else the tuned weights (the next fit's); else defaults."""
        pointer = self.read_pointer(tenant)
        if pointer is not None:
            params_file = self.version_dir(tenant, pointer.version) / "params.json"
            if params_file.is_file():
                params = params_from_dict(json.loads(params_file.read_text("utf-8")))
                return params.weights, f"ranking version {pointer.version}"
        tuned = self.read_tuned_weights(tenant)
        if tuned is not None:
            return tuned, f"{TUNED_WEIGHTS_FILE} (no version fitted yet)"
        return StructuredFitWeights(), "the defaults"
