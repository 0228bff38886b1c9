"""Private key material is removed from event data and from files left in a run dir."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pbdeployer.runner._redact import (
    REDACTED,
    REDACTED_SECRET,
    redact_in_place,
    redact_secrets,
    redact_text,
    scrub_tree,
    secret_forms,
)


@pytest.fixture(scope="module")
def key_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real OpenSSH private key made by ssh-keygen."""
    path = tmp_path_factory.mktemp("key") / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.read_text(encoding="ascii")


@pytest.fixture(scope="module")
def pem_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("pem") / "id"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f", str(path)],
        check=True,
    )
    return path.read_text(encoding="ascii")


def body_lines(key: str) -> list[str]:
    return [line for line in key.splitlines() if line and not line.startswith("-----")]


def assert_clean(text: str, key: str) -> None:
    for line in body_lines(key):
        assert line not in text


def test_openssh_block_in_text(key_text: str) -> None:
    text = redact_text(f"before\n{key_text}after")
    assert text == f"before\n{REDACTED}\nafter"


def test_pem_block_in_text(pem_text: str) -> None:
    assert "BEGIN RSA PRIVATE KEY" in pem_text
    text = redact_text(f"x {pem_text} y")
    assert_clean(text, pem_text)
    assert text.startswith("x ")
    assert text.endswith(" y")


def test_unterminated_block_is_cut_to_the_end(key_text: str) -> None:
    half = key_text[: len(key_text) // 2]
    assert redact_text("start " + half) == "start " + REDACTED


def test_escaped_block_on_one_line(key_text: str) -> None:
    escaped = key_text.replace("\n", "\\n")
    text = redact_text('{"stdout": "' + escaped + '"}')
    assert_clean(text, key_text)


def test_public_keys_and_plain_text_are_untouched() -> None:
    text = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG3 user@host and a PUBLIC KEY mention"
    assert redact_text(text) == text


def test_nested_event_dict(key_text: str) -> None:
    event: dict[str, Any] = {
        "stdout": "changed: [h]",
        "event_data": {
            "res": {
                "stdout": key_text,
                "stdout_lines": key_text.splitlines(),
                "nested": [{"deep": key_text}],
                "rc": 0,
            }
        },
    }
    redact_in_place(event)
    res = event["event_data"]["res"]
    assert res["stdout"] == REDACTED + "\n"
    assert res["stdout_lines"] == [REDACTED] * len(key_text.splitlines())
    assert res["nested"][0]["deep"] == REDACTED + "\n"
    assert res["rc"] == 0
    assert_clean(repr(event), key_text)


def test_lines_after_a_key_are_kept(key_text: str) -> None:
    lines = ["first", *key_text.splitlines(), "last"]
    redact_in_place(lines)
    assert lines[0] == "first"
    assert lines[-1] == "last"
    assert set(lines[1:-1]) == {REDACTED}


def test_scrub_tree_rewrites_files_but_not_through_symlinks(tmp_path: Path, key_text: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "key").write_text(key_text)
    run = tmp_path / "run"
    (run / "artifacts").mkdir(parents=True)
    (run / "artifacts" / "event.json").write_text('{"x": "' + key_text.replace("\n", "\\n") + '"}')
    (run / "clean.txt").write_text("nothing here")
    (run / "project").symlink_to(outside, target_is_directory=True)
    (run / "link").symlink_to(outside / "key")
    scrubbed = scrub_tree(run)
    assert scrubbed == [run / "artifacts" / "event.json"]
    assert_clean((run / "artifacts" / "event.json").read_text(), key_text)
    assert (outside / "key").read_text() == key_text
    assert (run / "clean.txt").read_text() == "nothing here"


@pytest.mark.parametrize("before", [0, None, {"rc": 0}, ["x"]])
def test_a_key_after_a_non_string_line_is_redacted(key_text: str, before: object) -> None:
    lines = ["first", before, *key_text.splitlines(), "last"]
    redact_in_place(lines)
    assert_clean(repr(lines), key_text)
    assert lines[0] == "first"
    assert lines[-1] == "last"


def test_a_non_string_item_ends_nothing_but_a_key(key_text: str) -> None:
    lines = [*key_text.splitlines()[:2], 7, "plain output"]
    redact_in_place(lines)
    assert lines == [REDACTED, REDACTED, 7, "plain output"]


def test_a_key_that_begins_where_another_ends(key_text: str, pem_text: str) -> None:
    first, second = key_text.splitlines(), pem_text.splitlines()
    lines = [*first[:-1], first[-1] + second[0], *second[1:], "after"]
    redact_in_place(lines)
    assert_clean(repr(lines), key_text)
    assert_clean(repr(lines), pem_text)
    assert lines[-1] == "after"


def test_scrub_goes_on_past_symlinks_and_large_files(tmp_path: Path, key_text: str) -> None:
    # Listing order is the file system's: with twenty key files, some follow the skipped ones.
    keys = [tmp_path / f"{index}.json" for index in range(20)]
    for path in keys:
        path.write_text(key_text)
    (tmp_path / "link").symlink_to(keys[0])
    with (tmp_path / "huge").open("wb") as huge:
        huge.truncate((64 << 20) + 1)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.json").write_text(key_text)
    scrubbed = scrub_tree(tmp_path)
    assert sorted(scrubbed) == sorted([*keys, tmp_path / "sub" / "c.json"])
    for path in scrubbed:
        assert_clean(path.read_text(), key_text)


def test_scrub_reads_a_file_of_exactly_the_limit(tmp_path: Path, key_text: str) -> None:
    path = tmp_path / "big.log"
    with path.open("wb") as big:
        big.write(key_text.encode())
        big.truncate(64 << 20)
    assert scrub_tree(tmp_path) == [path]
    assert_clean(path.read_bytes()[:4096].decode(errors="replace"), key_text)


def test_scrub_keeps_bytes_that_are_not_utf8(tmp_path: Path, key_text: str) -> None:
    path = tmp_path / "mixed.bin"
    path.write_bytes(b"\xff\xfe head\n" + key_text.encode() + b"tail \xc3\x28")
    assert scrub_tree(tmp_path) == [path]
    assert path.read_bytes() == b"\xff\xfe head\n" + REDACTED.encode() + b"\ntail \xc3\x28"


def test_secret_values_are_redacted_longest_first_in_nested_values() -> None:
    value = {"msg": "pw=abcdef1 and abcdef", "lines": ["x abcdef1", {"k": "abcdef"}]}
    redact_secrets(value, secret_forms(("abcdef", "abcdef1")))
    assert value == {
        "msg": f"pw={REDACTED_SECRET} and {REDACTED_SECRET}",
        "lines": [f"x {REDACTED_SECRET}", {"k": REDACTED_SECRET}],
    }


def test_a_secret_is_redacted_as_python_and_json_quote_it() -> None:
    secret = 'it\'s \\ "q"'
    text = f"item={secret!r} json={json.dumps(secret)} both={json.dumps(repr(secret))}"
    value = {"stdout": text}
    redact_secrets(value, secret_forms((secret,)))
    assert "it's" not in value["stdout"]
    assert value["stdout"].count(REDACTED_SECRET) == 3


@pytest.mark.parametrize(
    "secret", ["pässw'ord\\\n\"x", "plain-value-123", "tab\there", "ünïcødé only"]
)
def test_every_way_output_carries_a_secret_is_redacted_whole(secret: str) -> None:
    ansible_quoted = secret.replace("\\", "\\\\").replace("'", "\\'")
    shapes = {secret, repr(secret)[1:-1], ansible_quoted}
    carried = shapes | {json.dumps(s)[1:-1] for s in shapes}
    carried |= {json.dumps(s, ensure_ascii=False)[1:-1] for s in shapes}
    for form in carried:
        value = {"stdout": f"<{form}>"}
        redact_secrets(value, secret_forms((secret,)))
        assert value == {"stdout": f"<{REDACTED_SECRET}>"}, form


def test_empty_secrets_are_ignored() -> None:
    assert secret_forms(("", "abc")) == secret_forms(("abc",)) == ("abc",)
    value = {"stdout": "nothing to hide"}
    assert redact_secrets(value, secret_forms(("",))) == {"stdout": "nothing to hide"}
