"""The user role's filter that copies root's keys without their options."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

FILTER_PATH = Path(__file__).parents[3] / "plugins/filter/authorized_keys.py"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests0000000000000000000000000000"
SK_KEY = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t yubikey"
# Root's line on Debian's cloud images, as cloud-init writes it.
CLOUD_OPTIONS = (
    "no-port-forwarding,no-agent-forwarding,no-X11-forwarding,"
    'command="echo \'Please login as the user \\"admin\\" rather than the user \\"root\\".\';'
    'echo;sleep 10;exit 142"'
)


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("user_authorized_keys", FILTER_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


keys = _load()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"{CLOUD_OPTIONS} {KEY} ops@example", f"{KEY} ops@example"),
        (f"{CLOUD_OPTIONS} {KEY}", KEY),
        (f'from="10.0.0.1,10.0.0.2",no-pty {KEY} a b', f"{KEY} a b"),
        (f'restrict,command="ssh-rsa AAAAfake x" {KEY}', KEY),
        (f"  {KEY}  ops@example  ", f"{KEY} ops@example"),
        (f'environment="A=b c"\t{KEY}', KEY),
        (f"no-touch-required {SK_KEY}", SK_KEY),
        ("# ssh-ed25519 AAAAC3 commented out", None),
        ("", None),
        ("not a key at all", None),
        ('command="unterminated ssh-ed25519 AAAAC3x', None),
    ],
)
def test_key_material_drops_every_option(line: str, expected: str | None) -> None:
    assert keys.key_material(line) == expected


def test_a_file_gives_each_key_once_in_order() -> None:
    other = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= second"
    text = f"# header\n{CLOUD_OPTIONS} {KEY} one\n{other}\n\n{KEY} one\r\n"
    assert keys.authorized_key_material(text) == [f"{KEY} one", other]
