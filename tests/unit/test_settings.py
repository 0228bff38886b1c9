"""Settings come from PBDEPLOYER_* variables, with explicit overrides on top."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from pbdeployer.errors import InvalidInput
from pbdeployer.settings import Settings, env_fields


def test_defaults_without_environment():
    settings = Settings.from_env({})

    assert settings == Settings()
    assert settings.data_dir == Path.cwd() / ".pbdeployer"
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.api_token is None


def test_values_are_read_and_typed_from_the_environment(tmp_path):
    env = {
        "PBDEPLOYER_DATA_DIR": str(tmp_path / "state"),
        "PBDEPLOYER_PORT": "9000",
        "PBDEPLOYER_HOST": "192.0.2.1",
        "PBDEPLOYER_API_TOKEN": "s3cret",
        "PBDEPLOYER_RUN_TIMEOUT_SECONDS": "12.5",
        "PBDEPLOYER_MAX_UPLOAD_BYTES": "1048576",
    }

    settings = Settings.from_env(env)

    assert settings.data_dir == tmp_path / "state"
    assert isinstance(settings.data_dir, Path)
    assert settings.port == 9000
    assert settings.host == "192.0.2.1"
    assert settings.api_token == "s3cret"
    assert settings.run_timeout_seconds == 12.5
    assert settings.max_upload_bytes == 1 << 20


def test_os_environ_is_used_by_default(monkeypatch, tmp_path):
    monkeypatch.setenv("PBDEPLOYER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PBDEPLOYER_PORT", "8123")

    settings = Settings.from_env()

    assert settings.data_dir == tmp_path
    assert settings.port == 8123


def test_empty_and_unrelated_variables_are_ignored():
    env = {"PBDEPLOYER_PORT": "", "PORT": "1", "PBDEPLOYER_NOT_A_SETTING": "x", "DATA_DIR": "/x"}

    assert Settings.from_env(env) == Settings()


def test_overrides_win_and_none_overrides_are_ignored(tmp_path):
    env = {"PBDEPLOYER_PORT": "9000", "PBDEPLOYER_HOST": "192.0.2.1"}

    settings = Settings.from_env(env, port=7000, host=None, data_dir=str(tmp_path))

    assert settings.port == 7000
    assert settings.host == "192.0.2.1"
    assert settings.data_dir == tmp_path


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PBDEPLOYER_PORT", "eighty"),
        ("PBDEPLOYER_PORT", "80.5"),
        ("PBDEPLOYER_RUN_TIMEOUT_SECONDS", "soon"),
        ("PBDEPLOYER_SSH_CONNECT_TIMEOUT_SECONDS", "1e"),
        ("PBDEPLOYER_TASK_WORKERS", "0"),
    ],
)
def test_a_bad_value_is_invalid_input_naming_the_variable(name, value):
    with pytest.raises(InvalidInput) as caught:
        Settings.from_env({name: value})

    assert [p.field for p in caught.value.details] == [name]


def test_settings_are_frozen():
    settings = Settings()

    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


def test_paths_derive_from_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path)

    assert settings.token_file == tmp_path / "api-token"
    assert settings.blobs_dir == tmp_path / "blobs"
    assert settings.runs_dir == tmp_path / "runs"
    assert settings.known_hosts_file == tmp_path / "known_hosts"
    assert settings.sqlalchemy_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/pbdeployer.db"


def test_sqlalchemy_url_is_absolute_for_a_relative_data_dir(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)

    url = Settings(data_dir=Path("state")).sqlalchemy_url

    assert url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/state/pbdeployer.db"


def test_a_relative_data_dir_is_absolute_from_the_moment_it_is_read(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    made = [
        Settings(),
        Settings(data_dir=Path("state")),
        Settings.from_env({"PBDEPLOYER_DATA_DIR": "state"}),
        Settings.from_env({}, data_dir="state"),
        msgspec.structs.replace(Settings(), data_dir=Path("state")),
    ]
    monkeypatch.chdir("/")

    assert [s.data_dir for s in made] == [tmp_path / ".pbdeployer"] + [tmp_path / "state"] * 4
    assert made[1].blobs_dir == tmp_path / "state" / "blobs"
    assert made[1].token_file == tmp_path / "state" / "api-token"


def test_database_url_wins_over_the_data_dir():
    env = {"PBDEPLOYER_DATABASE_URL": "sqlite+aiosqlite:////srv/pb.db"}

    assert Settings.from_env(env).sqlalchemy_url == "sqlite+aiosqlite:////srv/pb.db"


def test_repr_hides_the_token_and_database_url():
    settings = Settings(api_token="s3cret-token", database_url="postgresql://u:pw@db/pb")

    text = repr(settings)

    assert "s3cret-token" not in text
    assert "pw@db" not in text
    assert "port=8080" in text


def test_every_setting_is_documented_with_its_variable():

    documented = (Path(__file__).parents[2] / "docs" / "settings.md").read_text()
    missing = [f for f in env_fields() if f"`PBDEPLOYER_{f.upper()}`" not in documented]
    assert missing == []


def test_no_task_workers_is_refused_when_settings_are_made():
    with pytest.raises(InvalidInput, match="task_workers"):
        Settings(task_workers=0)
