"""Finding the Ansible content from the package."""

from __future__ import annotations

from pathlib import Path

import pytest

import pbdeployer
from pbdeployer.content import content_paths, locate_content, playbook_path
from pbdeployer.errors import InvalidInput

REPO = Path(pbdeployer.__file__).resolve().parent.parent


def test_checkout_content_is_found_next_to_the_package() -> None:
    paths = content_paths()
    assert paths.root == REPO
    assert paths.playbooks == REPO / "playbooks"
    assert paths.roles == REPO / "roles"
    assert (paths.inventory_templates / "inventory.yml").is_file()


def test_playbook_names_resolve_inside_playbooks() -> None:
    assert playbook_path("ping.yml") == REPO / "playbooks" / "ping.yml"


@pytest.mark.parametrize("name", ["../pyproject.toml", "../../etc/passwd", "missing.yml", ""])
def test_names_outside_or_missing_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        playbook_path(name)
    assert caught.value.details[0].field == "playbook"


def test_absolute_paths_are_taken_as_given() -> None:
    path = REPO / "tests" / "playbooks" / "fail.yml"
    assert playbook_path(str(path)) == path


def make_content(root: Path) -> None:
    for part in ("playbooks", "roles", "plugins", "inventory_templates"):
        (root / part).mkdir(parents=True)
    (root / "galaxy.yml").write_text("namespace: pbdeployer\n")


def test_wheel_copy_wins_over_the_parent(tmp_path: Path) -> None:
    package = tmp_path / "site" / "pbdeployer"
    make_content(package / "_content")
    make_content(tmp_path / "site")
    paths = locate_content(package)
    assert paths.root == package / "_content"
    assert paths.playbooks == package / "_content" / "playbooks"


def test_checkout_layout_is_the_fallback(tmp_path: Path) -> None:
    package = tmp_path / "repo" / "pbdeployer"
    package.mkdir(parents=True)
    make_content(tmp_path / "repo")
    assert locate_content(package).roles == tmp_path / "repo" / "roles"


def test_a_root_without_the_collection_metadata_is_not_content(tmp_path: Path) -> None:
    package = tmp_path / "repo" / "pbdeployer"
    package.mkdir(parents=True)
    make_content(tmp_path / "repo")
    (tmp_path / "repo" / "galaxy.yml").unlink()
    with pytest.raises(RuntimeError, match="not found"):
        locate_content(package)


def test_missing_content_is_an_error(tmp_path: Path) -> None:
    package = tmp_path / "pbdeployer"
    (package / "_content" / "playbooks").mkdir(parents=True)
    with pytest.raises(RuntimeError, match="not found"):
        locate_content(package)
