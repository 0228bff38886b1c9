"""An unexpected failure answers 500 with the shared body and no internals."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from litestar.testing import TestClient

from pbdeployer.api import create_app
from pbdeployer.settings import Settings

TOKEN = "secret-token-value-Wq3Zr8Lm5Tn2Vb6"


def test_a_broken_database_gives_a_clean_500(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings, token=TOKEN)
    with TestClient(app, raise_server_exceptions=False) as client:
        with sqlite3.connect(tmp_path / "pbdeployer.db") as db:
            db.execute("DROP TABLE deployments")
            db.execute("DROP TABLE versions")
            db.execute("DROP TABLE apps")
            db.execute("DROP TABLE servers")
        response = client.get("/api/v1/servers", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 500
    body = response.json()
    assert body == {
        "error": {
            "code": "internal_error",
            "message": "an internal error occurred; the server log has the details",
            "details": [],
        }
    }
    for leak in ("Traceback", "sqlite", "servers", "secret-token-value", str(tmp_path)):
        assert leak not in response.text
