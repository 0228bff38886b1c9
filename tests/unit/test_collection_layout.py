"""The repository root as the Ansible collection pbdeployer.pocketbase, and its YAML."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONTENT_YAML = sorted(
    path
    for folder in ("playbooks", "roles", "molecule", "meta")
    for path in (ROOT / folder).rglob("*.yml")
)


class _StrictLoader(yaml.SafeLoader):
    """Refuses a mapping that names a key twice, also through a ``<<`` merge (Ansible warns)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        keys = [self.construct_object(key, deep=True) for key, _ in node.value]
        repeated = {key for key in keys if keys.count(key) > 1}
        if repeated:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate keys {sorted(repeated)}", node.start_mark
            )
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor("!unsafe", yaml.SafeLoader.construct_scalar)


def _galaxy() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    return loaded


def test_collection_version_follows_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    galaxy = _galaxy()
    assert (galaxy["namespace"], galaxy["name"]) == ("pbdeployer", "pocketbase")
    assert galaxy["version"] == project["version"]
    assert {"debian", "pocketbase"} <= set(galaxy["tags"])


def test_the_checkout_link_is_the_collection_root() -> None:
    link = ROOT / "collections" / "ansible_collections" / "pbdeployer" / "pocketbase"
    assert link.is_symlink()
    assert link.resolve() == ROOT


def test_the_wheel_carries_what_the_collection_needs() -> None:
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    included = wheel["targets"]["wheel"]["force-include"]
    for part in ("playbooks", "roles", "plugins", "meta", "galaxy.yml", "inventory_templates"):
        assert included[part] == f"pbdeployer/_content/{part}"


@pytest.mark.parametrize("path", [p.relative_to(ROOT) for p in ROOT.glob("playbooks/*.yml")])
def test_playbooks_name_roles_by_their_full_name(path: Path) -> None:
    roles = {p.name for p in (ROOT / "roles").iterdir()}
    for play in yaml.safe_load((ROOT / path).read_text()):
        named = [r["role"] for r in play.get("roles", [])]
        for task in play.get("tasks", []):
            for action in ("ansible.builtin.import_role", "ansible.builtin.include_role"):
                named += [task[action]["name"]] if action in task else []
        assert not set(named) & roles, f"{path} names roles without pbdeployer.pocketbase."
        assert all(name.startswith("pbdeployer.pocketbase.") for name in named)


@pytest.mark.parametrize("path", [p.relative_to(ROOT) for p in CONTENT_YAML])
def test_no_yaml_names_a_key_twice(path: Path) -> None:
    yaml.load((ROOT / path).read_text(), Loader=_StrictLoader)  # noqa: S506 - a SafeLoader
