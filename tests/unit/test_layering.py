"""Dependencies point one way, and each framework is imported by one package only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pbdeployer"

# What each part of the package may import from pbdeployer (besides itself).
BASE = {"errors", "models", "settings", "validation"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "settings": {"errors"},
    "models": {"errors"},
    "validation": {"errors"},
    "content": BASE,
    "inventory": BASE | {"content"},
    "plays": BASE,
    "runner": BASE | {"content", "inventory"},
    "store": BASE,
    "events": BASE | {"store"},
    "artifacts": BASE,
    "testing": BASE,
    "services": BASE | {"content", "inventory", "plays", "runner", "store", "events", "artifacts"},
    "deployer": BASE | {"services", "store", "runner", "events", "artifacts"},
    "api": BASE | {"services", "deployer", ""},
    "console": BASE | {"services", "deployer", ""},
    "cli": BASE | {"api", "services", "deployer", "console", ""},
    "sync": BASE | {"deployer"},
    "__init__": BASE | {"deployer", "sync", "plays"},  # re-exports the public names
    "__main__": {"cli"},
}
# Third-party frameworks and the only part allowed to import each.
FRAMEWORKS = {
    "litestar": "api",
    "sqlalchemy": "store",
    "alembic": "store",
    "ansible_runner": "runner",
    "uvicorn": "cli",
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "_content" not in p.parts)


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, imported inside a function) for every import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        nested = False
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                found.extend((name, True) for name in _names(inner))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.extend((name, nested) for name in _names(node))
    return list(dict.fromkeys(found))


def _names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module == "pbdeployer":
        return [f"pbdeployer.{alias.name}" for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module]
    return []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path: Path) -> None:
    part = _part(path)
    assert part in ALLOWED, f"{part} is a new part of the package: add it to the layering rules"
    for module, in_function in _imports(path):
        top, _, rest = module.partition(".")
        if top == "pbdeployer":
            target = rest.split(".")[0].removeprefix("__version__")
            assert not in_function, f"{module} imported inside a function: fix the layering"
            assert target == part or target in ALLOWED[part], f"{part} must not import {module}"
        elif top in FRAMEWORKS:
            assert FRAMEWORKS[top] == part, f"only {FRAMEWORKS[top]}/ may import {top}"


def test_the_rules_see_real_imports() -> None:
    api_imports = {m for m, _ in _imports(PACKAGE / "api" / "app.py")}
    assert "litestar" in api_imports
    assert "pbdeployer.deployer" in api_imports
