"""The module pbdeployer.pocketbase.unit (service_state=installed), with systemctl faked."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

MODULE_PATH = Path(__file__).parents[3] / "plugins" / "modules" / "unit.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pbdeployer_unit", MODULE_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def unit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, list[str]]:
    module = _load()
    calls: list[str] = []
    state = {"enabled": False}

    def systemctl(*args: str) -> tuple[int, str]:
        calls.append(" ".join(args))
        if args[0] in ("enable", "disable"):
            state["enabled"] = args[0] == "enable"
        if args[0] == "is-enabled":
            return 0, "enabled" if state["enabled"] else "disabled"
        return 0, ""

    monkeypatch.setattr(module, "UNIT_DIR", str(tmp_path))
    monkeypatch.setattr(module, "systemctl", systemctl)
    return module, calls


def test_writes_reloads_and_enables_once(
    unit: tuple[ModuleType, list[str]], tmp_path: Path
) -> None:
    module, calls = unit
    args = {"unit": "blog.service", "content": "[Unit]\n", "enabled": True}
    first = module.answer_for(args)
    assert first["changed"] is True
    assert (tmp_path / "blog.service").read_text() == "[Unit]\n"
    assert calls == ["daemon-reload", "is-enabled blog.service", "enable blog.service"]

    calls.clear()
    again = module.answer_for(args)
    assert again == {"changed": False, "msg": "blog.service is up to date"}
    assert calls == ["is-enabled blog.service"]


def test_check_mode_changes_nothing(unit: tuple[ModuleType, list[str]], tmp_path: Path) -> None:
    module, calls = unit
    answer = module.answer_for(
        {"unit": "blog.service", "content": "x\n", "_ansible_check_mode": True}
    )
    assert answer["changed"] is True
    assert not (tmp_path / "blog.service").exists()
    assert calls == []


@pytest.mark.parametrize("name", ["blog", "../x.service", "a b.service", ".service"])
def test_bad_unit_names_are_refused(unit: tuple[ModuleType, list[str]], name: str) -> None:
    module, calls = unit
    answer = module.answer_for({"unit": name, "content": "x\n"})
    assert answer["failed"] is True
    assert calls == []
