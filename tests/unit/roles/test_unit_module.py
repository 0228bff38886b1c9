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


def test_environment_file_is_private_kept_out_of_the_answer_and_removed_when_empty(
    unit: tuple[ModuleType, list[str]], tmp_path: Path
) -> None:
    module, _ = unit
    env_file = tmp_path / "env" / "blog.env"
    args = {"unit": "blog.service", "content": "[Unit]\n", "env_file": str(env_file)}
    text = 'SMTP_PASSWORD="s3cret"\n'

    first = module.answer_for(args | {"env_content": text})
    assert first["changed"] is True
    assert "s3cret" not in str(first)
    assert env_file.read_text() == text
    assert (env_file.stat().st_mode & 0o777, env_file.parent.stat().st_mode & 0o777) == (
        0o600,
        0o700,
    )
    assert module.answer_for(args | {"env_content": text})["changed"] is False

    # No variables: an empty rendering, which Ansible may pass on as null.
    for empty in ("", None):
        module.answer_for(args | {"env_content": text})
        removed = module.answer_for(args | {"env_content": empty})
        assert removed["changed"] is True, removed
        assert not env_file.exists()
    refused = module.answer_for(args | {"env_file": "relative.env", "env_content": text})
    assert refused["failed"] is True
