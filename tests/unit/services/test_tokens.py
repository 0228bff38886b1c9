"""The API token: a weak one (empty, blank, short, unprintable) is refused wherever it is from."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from pbdeployer.api import create_app
from pbdeployer.errors import UnsafeSetting
from pbdeployer.services import MIN_TOKEN_LENGTH, check_token, load_or_create_token
from pbdeployer.settings import Settings

GOOD = "Kq7-Vw2_Zr9xLm4Tn8Bc3Hd6Fj1Gs5Py0Ae"
WEAK = {
    "empty": ("", "is empty"),
    "blank": (" \t\n ", "is empty"),
    "short": ("x" * (MIN_TOKEN_LENGTH - 1), "too short (31 characters)"),
    "space inside": (GOOD[:16] + " " + GOOD[16:], "spaces"),
    "control character": (GOOD + "\x00", "control"),
    "non-ASCII": (GOOD + "é", "non-ASCII"),
}


@pytest.mark.parametrize(("token", "reason"), WEAK.values(), ids=WEAK.keys())
def test_a_weak_token_from_the_environment_is_refused(tmp_path, token, reason):
    settings = Settings.from_env({"PBDEPLOYER_DATA_DIR": str(tmp_path)}, api_token=token)

    with pytest.raises(UnsafeSetting, match=re.escape(reason)) as caught:
        load_or_create_token(settings)

    assert caught.value.message.startswith("the API token in PBDEPLOYER_API_TOKEN ")
    assert f"at least {MIN_TOKEN_LENGTH}" in caught.value.message
    if token.strip():
        assert token.strip() not in caught.value.message


@pytest.mark.parametrize(("token", "reason"), WEAK.values(), ids=WEAK.keys())
def test_a_weak_token_file_is_refused_not_replaced(tmp_path, token, reason):
    settings = Settings(data_dir=tmp_path)
    settings.token_file.write_text(token)

    with pytest.raises(UnsafeSetting, match=re.escape(reason)) as caught:
        load_or_create_token(settings)

    assert str(settings.token_file) in caught.value.message
    assert settings.token_file.read_text() == token


def test_a_token_file_that_is_not_text_is_refused(tmp_path):
    settings = Settings(data_dir=tmp_path)
    settings.token_file.write_bytes(b"\xff" * 40)

    with pytest.raises(UnsafeSetting, match="non-ASCII"):
        load_or_create_token(settings)


def test_surrounding_whitespace_is_not_part_of_the_token(tmp_path):
    settings = Settings(data_dir=tmp_path, api_token=f"  {GOOD}\n")

    assert load_or_create_token(settings) == (GOOD, False)
    assert check_token(f"{GOOD}\n", "a file") == GOOD


def test_a_generated_token_is_long_enough_and_owner_only(tmp_path):
    settings = Settings(data_dir=tmp_path / "new")

    token, created = load_or_create_token(settings)

    assert created
    assert check_token(token, "the file") == token
    assert stat.S_IMODE(settings.token_file.stat().st_mode) == 0o600
    assert load_or_create_token(settings) == (token, False)


@pytest.mark.parametrize(("token", "reason"), WEAK.values(), ids=WEAK.keys())
def test_the_app_is_never_built_around_a_weak_token(tmp_path: Path, token, reason):
    with pytest.raises(UnsafeSetting, match=re.escape(reason)):
        create_app(Settings(data_dir=tmp_path), token=token)


def test_a_token_is_created_once_even_where_the_data_dir_is_missing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "new" / "data")
    token, created = load_or_create_token(settings)
    assert created
    assert len(token) >= 43
    assert settings.token_file.read_text() == token + "\n"
    assert stat.S_IMODE(settings.token_file.stat().st_mode) == 0o600
    assert load_or_create_token(settings) == (token, False)


def test_the_settings_token_wins_and_writes_nothing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_token=GOOD)
    assert load_or_create_token(settings) == (GOOD, False)
    assert not settings.token_file.exists()


def test_two_data_dirs_get_different_tokens(tmp_path: Path) -> None:
    first = load_or_create_token(Settings(data_dir=tmp_path))[0]  # a data dir that exists
    assert first != load_or_create_token(Settings(data_dir=tmp_path / "b"))[0]


def test_a_token_of_exactly_the_minimum_length_is_taken(tmp_path: Path) -> None:
    token = GOOD[:MIN_TOKEN_LENGTH]
    assert load_or_create_token(Settings(data_dir=tmp_path, api_token=token)) == (token, False)


def test_a_weak_token_file_says_how_to_get_a_new_one(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    settings.token_file.write_text("short\n")
    with pytest.raises(UnsafeSetting) as caught:
        load_or_create_token(settings)
    assert f"{settings.token_file} (delete the file to have a new token generated)" in str(
        caught.value.message
    )


def test_a_missing_data_dir_is_created_for_its_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "fresh")
    token, created = load_or_create_token(settings)
    assert created
    assert len(token) == 43  # 32 random bytes, URL-safe
    assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700
