"""A tenant is never a path: hostile tenant names and paths never reach outside models/."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.tenant_paths import (
    UnsafePathError,
    check_tenant_id,
    is_valid_tenant_id,
    remove_tree,
    tenant_dir,
)

HOSTILE_NAMES = [
    "..",
    ".",
    "/",
    "../..",
    "../sibling",
    "a/../..",
    "%2e%2e",
    "%2e%2e%2f",
    "..%2f",
    "\uff0e\uff0e",  # full-width dots
    "\u2024\u2024",  # one-dot leaders
    "\u3002\u3002",  # ideographic full stops
    "a\x00b",
    "\x00",
    "x" * 64,
    "",
    "a\n",
    "Default",  # upper case: ids are lowercase so two spellings cannot name one folder
    "\\..\\..",
    "~",
    " default",
]


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, list[Path]]:
    """models/ with a tenant folder, and precious files beside and above it."""
    models = tmp_path / "srv" / "models"
    (models / "default" / "v1").mkdir(parents=True)
    (models / "default" / "v1" / "vocabulary.json").write_text("{}")
    precious = [
        tmp_path / "srv" / "app" / "main.py",
        tmp_path / "srv" / ".git" / "HEAD",
        tmp_path / "outside.txt",
    ]
    for path in precious:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("keep me")
    return models, precious


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_tenant_name_is_no_tenant_id(name: str) -> None:
    assert not is_valid_tenant_id(name)
    with pytest.raises(UnsafePathError):
        check_tenant_id(name)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_tenant_name_never_becomes_a_folder(
    layout: tuple[Path, list[Path]], name: str
) -> None:
    models, precious = layout
    with pytest.raises(UnsafePathError):
        tenant_dir(models, name)
    assert all(path.read_text() == "keep me" for path in precious)
    assert sorted(p.name for p in models.iterdir()) == ["default"]


@pytest.mark.parametrize("name", ["default", "zhongbo", "a", "x" * 32, "agency-7", "t_1"])
def test_good_ids_are_direct_children_of_the_models_dir(tmp_path: Path, name: str) -> None:
    assert tenant_dir(tmp_path, name) == (tmp_path / name).resolve()


@pytest.mark.parametrize(
    "relative", ["..", "../..", "../app", "../.git", "default/../..", "default/../../app", "."]
)
def test_remove_tree_refuses_anything_outside_the_models_dir(
    layout: tuple[Path, list[Path]], relative: str
) -> None:
    models, precious = layout
    with pytest.raises(UnsafePathError):
        remove_tree(models, models / relative)
    assert all(path.read_text() == "keep me" for path in precious)
    assert (models / "default" / "v1" / "vocabulary.json").is_file()


def test_remove_tree_removes_a_version_inside(layout: tuple[Path, list[Path]]) -> None:
    models, precious = layout
    remove_tree(models, models / "default" / "v1")
    assert not (models / "default" / "v1").exists()
    assert (models / "default").is_dir()
    assert all(path.read_text() == "keep me" for path in precious)


def test_a_symlink_inside_is_unlinked_never_followed(layout: tuple[Path, list[Path]]) -> None:
    models, precious = layout
    app_folder = precious[0].parent
    link = models / "default" / "v2"
    link.symlink_to(app_folder, target_is_directory=True)
    with pytest.raises(UnsafePathError):
        remove_tree(models, link / "main.py")  # resolves outside
    remove_tree(models, link)
    assert not link.exists() and not link.is_symlink()
    assert all(path.read_text() == "keep me" for path in precious)


def test_a_tenant_folder_that_is_a_symlink_out_is_refused(
    layout: tuple[Path, list[Path]],
) -> None:
    models, precious = layout
    (models / "evil").symlink_to(precious[0].parent, target_is_directory=True)
    with pytest.raises(UnsafePathError):
        remove_tree(models, models / "evil" / "main.py")
    assert all(path.read_text() == "keep me" for path in precious)
