"""Each role's Python variables struct says exactly what its argument_specs say."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import msgspec
import pytest
import yaml

from pbdeployer.plays.role_vars import ROLE_VARS, RoleVars

ROLES = Path(__file__).resolve().parents[3] / "roles"
SPEC_TYPES: dict[str, set[type]] = {
    "str": {str},
    "int": {int},
    "bool": {bool},
    "list": {list},
    "dict": {dict},
    "path": {str},
    "float": {float},
    "raw": {str, int, float, bool, list, dict},
}


def _options(role: str) -> dict[str, Any]:
    specs = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())
    options: dict[str, Any] = specs["argument_specs"]["main"]["options"]
    return options


def _python_types(annotation: Any) -> set[type]:
    kinds = set()
    for arg in get_args(annotation) or (annotation,):
        origin = getattr(arg, "__origin__", arg)
        if origin is not msgspec.UnsetType:
            kinds.add(origin)
    return kinds


def test_every_role_has_a_struct() -> None:
    roles = {p.name for p in ROLES.iterdir() if (p / "meta" / "argument_specs.yml").is_file()}
    assert roles <= set(ROLE_VARS), roles - set(ROLE_VARS)


@pytest.mark.parametrize("role", sorted(ROLE_VARS))
def test_struct_fields_equal_the_specs(role: str) -> None:
    options = _options(role)
    struct = ROLE_VARS[role]
    fields = {f.name: f for f in msgspec.structs.fields(struct)}
    assert set(fields) == set(options)
    hints = msgspec.structs.fields(struct)
    for field in hints:
        spec_type = options[field.name].get("type", "str")
        assert _python_types(field.type) <= SPEC_TYPES[spec_type], field.name
        assert _python_types(field.type) & SPEC_TYPES[spec_type], field.name


def test_unset_fields_leave_role_defaults_alone() -> None:
    struct: type[RoleVars] = ROLE_VARS["user"]
    assert struct().extravars() == {}
    assert struct(user_name="app").extravars() == {"user_name": "app"}  # type: ignore[call-arg]
