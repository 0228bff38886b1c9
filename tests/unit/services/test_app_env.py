"""Apps' environment through the library: secrets sealed with a key outside the database,
write-only, and checked like every other input."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pbdeployer import AppCreate, Deployer, InvalidInput, NotFound, ServerCreate, Settings
from pbdeployer.models.app_env import AppEnvUpdate, EnvVar, EnvVarInput
from pbdeployer.services.sealing import SealBroken, SecretBox

SECRET = "hunter2-{{ 7 * 7 }}-$HOME"


@pytest.fixture
async def deployer(tmp_path: Path) -> AsyncIterator[Deployer]:
    async with Deployer.open(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


async def _app_id(deployer: Deployer) -> str:
    server = await deployer.servers.create(ServerCreate(name="web1", host="203.0.113.10"))
    return (await deployer.apps.create(AppCreate(name="blog", server_id=server.id))).id


def _update(*variables: EnvVarInput) -> AppEnvUpdate:
    return AppEnvUpdate(variables=list(variables))


async def test_a_secret_is_shown_as_set_and_opened_only_for_the_host(deployer, tmp_path):
    app_id = await _app_id(deployer)
    shown = await deployer.env.set(
        app_id,
        _update(
            EnvVarInput(key="SMTP_PASSWORD", value=SECRET, secret=True),
            EnvVarInput(key="SMTP_HOST", value="smtp.example.com"),
        ),
    )

    expected = [
        EnvVar(key="SMTP_HOST", secret=False, value="smtp.example.com"),
        EnvVar(key="SMTP_PASSWORD", secret=True, value=None),
    ]
    assert shown.variables == expected
    assert (await deployer.env.get(app_id)).variables == expected
    opened = await deployer.env.values(app_id)
    assert opened.values == {"SMTP_HOST": "smtp.example.com", "SMTP_PASSWORD": SECRET}
    assert opened.secrets == (SECRET,)


async def test_the_database_holds_ciphertext_and_the_key_lives_in_a_private_file(
    deployer, tmp_path
):
    app_id = await _app_id(deployer)
    await deployer.env.set(app_id, _update(EnvVarInput(key="K", value=SECRET, secret=True)))

    data = tmp_path / "data"
    with sqlite3.connect(data / "pbdeployer.db") as db:
        dump = "\n".join(db.iterdump())
    assert "hunter2" not in dump
    assert "hunter2" not in (data / "pbdeployer.db").read_bytes().decode("latin-1")
    key = data / "secrets.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes().strip() not in dump.encode()


async def test_null_keeps_a_stored_secret_and_leaving_a_key_out_removes_it(deployer):
    app_id = await _app_id(deployer)
    await deployer.env.set(
        app_id,
        _update(EnvVarInput(key="A", value=SECRET, secret=True), EnvVarInput(key="B", value="b")),
    )
    await deployer.env.set(app_id, _update(EnvVarInput(key="A", secret=True)))

    assert (await deployer.env.values(app_id)).values == {"A": SECRET}


async def test_bad_variables_are_refused_naming_each_field(deployer):
    app_id = await _app_id(deployer)
    with pytest.raises(InvalidInput) as caught:
        await deployer.env.set(
            app_id,
            _update(
                EnvVarInput(key="1BAD", value="x"),
                EnvVarInput(key="OK", value="two\nlines", secret=True),
                EnvVarInput(key="OK", value="again"),
                EnvVarInput(key="NEW", secret=True),
            ),
        )
    fields = [p.field for p in caught.value.details]
    assert fields == [
        "variables[0].key",
        "variables[1].value",
        "variables[2].key",
        "variables[3].value",
    ]
    assert all("two" not in p.reason for p in caught.value.details)
    assert (await deployer.env.get(app_id)).variables == []
    with pytest.raises(NotFound):
        await deployer.env.set("01NOSUCHAPP00000000000000", _update())


def test_a_secret_sealed_with_another_key_does_not_open(tmp_path):
    sealed = SecretBox(tmp_path / "one.key").seal(SECRET)
    assert SecretBox(tmp_path / "one.key").open(sealed) == SECRET
    with pytest.raises(SealBroken):
        SecretBox(tmp_path / "two.key").open(sealed)
