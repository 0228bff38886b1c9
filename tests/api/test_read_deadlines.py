"""Slow clients against ``pbdeployer serve``: headers and bodies have deadlines.

Only a real served process shows this: the test client hands a body over at once.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pbdeployer.api import API_PREFIX, create_app
from pbdeployer.settings import Settings
from tests.served import TOKEN, Controller, ServerThread, api_client

DEADLINE = 1.0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Controller]:
    seconds = str(DEADLINE)
    env = {
        "PBDEPLOYER_REQUEST_HEADER_TIMEOUT_SECONDS": seconds,
        "PBDEPLOYER_REQUEST_BODY_TIMEOUT_SECONDS": seconds,
    }
    controller = Controller(tmp_path_factory.mktemp("deadlines") / "data", env)
    controller.start()
    yield controller
    controller.stop()


def until_closed(port: int, sent: bytes) -> tuple[bytes, float]:
    """Send ``sent``, then read until the server closes; what came back and how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE + 10) as sock:
        sock.sendall(sent)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received, time.monotonic() - started


def request_head(path: str, content_type: str, length: int) -> bytes:
    return (
        f"POST {API_PREFIX}{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def error_of(answer: bytes) -> tuple[int, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)["error"]["code"]


def test_headers_that_never_end_are_cut_off(served: Controller) -> None:
    partial = f"GET {API_PREFIX}/servers HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".encode()
    answer, took = until_closed(served.port, partial)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert DEADLINE <= took < DEADLINE + 5


def test_a_json_body_announced_large_and_sent_short_is_cut_off(served: Controller) -> None:
    sent = (
        request_head("/servers", "application/json", 9_000_000) + b'{"name": "web1", "host": "10.0.'
    )
    answer, took = until_closed(served.port, sent)
    assert error_of(answer) == (408, "request_timeout")
    assert DEADLINE <= took < DEADLINE + 5


def test_an_upload_that_stalls_is_cut_off(served: Controller) -> None:
    client = api_client(served.port)
    server = client.post("/servers", json={"name": "web1", "host": "203.0.113.10"}).json()
    app = client.post("/apps", json={"name": "blog", "server_id": server["id"]}).json()
    version = client.post("/versions", json={"app_id": app["id"], "version_number": "1.0.0"})
    path = f"/versions/{version.json()['id']}/upload"
    answer, took = until_closed(served.port, request_head(path, "application/zip", 5 << 20) + b"PK")
    assert error_of(answer) == (408, "request_timeout")
    assert DEADLINE <= took < DEADLINE + 5
    assert not list((served.data_dir / "blobs" / "tmp").glob("*"))


def test_a_client_leaving_mid_body_is_one_log_line(
    settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    """The app's log goes to stderr (Litestar's queue handler), so stderr is what is read."""
    logged = ""
    with ServerThread(create_app(settings, token=TOKEN)) as up:
        with socket.create_connection(("127.0.0.1", up.port)) as sock:
            sock.sendall(request_head("/servers", "application/json", 1000) + b'{"name": ')
            time.sleep(0.3)
        deadline = time.monotonic() + 10
        while "left during" not in logged:
            assert time.monotonic() < deadline, f"the disconnect was never logged: {logged}"
            time.sleep(0.05)
            logged += capfd.readouterr().err
    lines = [line for line in logged.splitlines() if "pbdeployer" in line or "Trace" in line]
    assert len(lines) == 1, logged
    assert f"left during POST {API_PREFIX}/servers" in lines[0]
    assert "unhandled error" not in logged


def test_the_deadlines_leave_a_normal_client_alone(served: Controller, tmp_path: Path) -> None:
    client = api_client(served.port)
    assert client.get("/servers").status_code == 200
    time.sleep(DEADLINE + 0.5)  # an idle keep-alive connection is uvicorn's to close, quietly
    assert client.get("/servers").status_code == 200
