"""The API token: generated once into the data dir, or taken from the settings."""

from __future__ import annotations

import stat
from pathlib import Path

from pbdeployer.services import load_or_create_token
from pbdeployer.settings import Settings


def test_a_token_is_created_once_even_where_the_data_dir_is_missing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "new" / "data")
    token, created = load_or_create_token(settings)
    assert created
    assert len(token) >= 43
    assert settings.token_file.read_text() == token + "\n"
    assert stat.S_IMODE(settings.token_file.stat().st_mode) == 0o600
    assert load_or_create_token(settings) == (token, False)


def test_the_settings_token_wins_and_writes_nothing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_token="from-the-environment")
    assert load_or_create_token(settings) == ("from-the-environment", False)
    assert not settings.token_file.exists()


def test_two_data_dirs_get_different_tokens(tmp_path: Path) -> None:
    first = load_or_create_token(Settings(data_dir=tmp_path))[0]  # a data dir that exists
    assert first != load_or_create_token(Settings(data_dir=tmp_path / "b"))[0]
