"""Where a tenant's fitted artifacts live, and the one guarded way to remove them.

A tenant id is a short lowercase slug (letters, digits, `_` and `-`, starting with a letter
or digit): no `.`, `/`, `\\`, NUL or non-ASCII character can be part of one, so the folder
`models/<tenant>` is always a direct child of the models dir. Every path is also resolved and
checked to lie inside it, so even a symlink planted under models/ cannot lead a delete out.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
_TENANT_ID = re.compile(TENANT_ID_PATTERN)


class UnsafePathError(ValueError):
    """A tenant id or path that would reach outside the models dir."""


def is_valid_tenant_id(tenant: str) -> bool:
    """True when `tenant` is a well-formed tenant id (the pattern above, fully matched)."""
    # fullmatch: `$` alone would accept a trailing newline.
    return _TENANT_ID.fullmatch(tenant) is not None


def check_tenant_id(tenant: str) -> str:
    """`tenant` itself when well-formed, else UnsafePathError."""
    if not is_valid_tenant_id(tenant):
        raise UnsafePathError(
            f"invalid tenant id {tenant!r}: 1-32 of a-z, 0-9, _ and -, starting with a-z or 0-9"
        )
    return tenant


def confine(models_dir: Path, path: Path) -> Path:
    """`path` resolved, provided it lies strictly inside the resolved models dir."""
    root = models_dir.resolve()
    resolved = path.resolve()
    if resolved == root or root not in resolved.parents:
        raise UnsafePathError(f"{path} is not inside the models dir {root}")
    return resolved


def tenant_dir(models_dir: Path, tenant: str) -> Path:
    """The tenant's folder under the models dir (not created)."""
    return confine(models_dir, models_dir / check_tenant_id(tenant))


def remove_tree(models_dir: Path, path: Path) -> None:
    """Delete `path` (a folder or a file) under the models dir; refuses anything else.

    The only delete of the service's own files: every removal of an artifact comes here.
    """
    if path.is_symlink():
        # The link itself is inside; what it points at is not ours to delete.
        confine(models_dir, path.parent).joinpath(path.name).unlink()
        return
    target = confine(models_dir, path)
    try:
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    except FileNotFoundError:
        pass  # another worker pruning the same version removed it first
