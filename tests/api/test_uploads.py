"""Version zips through the API: streamed uploads, checks, ranged downloads, sharing, deletes."""

from __future__ import annotations

import hashlib
import sqlite3
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from pbdeployer.api import create_app
from pbdeployer.models import new_id
from pbdeployer.settings import Settings
from tests.conftest import BASE_URL, check_error
from tests.pocketbase import build_app_zip, pocketbase_binary
from tests.unit.artifacts.bad_zips import CASES
from tests.unit.artifacts.zip_corpus import FAKE_BINARY, BadZip, RawEntry, app, raw_zip

ZIP = {"content-type": "application/zip"}
MIGRATIONS = {"1700000100_comments.js": "migrate(() => {});", "1700000000_init.js": "migrate();"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blob_files(settings: Settings) -> list[Path]:
    """Every file under the blob store: stored zips and anything left in its tmp/."""
    root = settings.blobs_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def tmp_files(settings: Settings) -> list[Path]:
    tmp = settings.blobs_dir / "tmp"
    return sorted(tmp.iterdir()) if tmp.exists() else []


def small_zip(tmp_path: Path, name: str = "app.zip", **extra: Any) -> bytes:
    path = build_app_zip(tmp_path / name, binary=FAKE_BINARY, migrations=MIGRATIONS, **extra)
    return path.read_bytes()


def add_deployment(settings: Settings, app_id: str, version_id: str, status: str) -> None:
    """Record a deployment row; deployments are created by a later feature, not by this API."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(settings.data_dir / "pbdeployer.db") as db:
        db.execute(
            "INSERT INTO deployments (id, created, updated, app_id, version_id, status, logs) "
            "VALUES (?, ?, ?, ?, ?, ?, '')",
            (new_id(), now, now, app_id, version_id, status),
        )


@pytest.fixture
def app_record(new_server, new_app):
    return new_app(new_server()["id"], name="blog")


@pytest.fixture
def version(app_record, new_version):
    return new_version(app_record["id"], version_number="1.4.0")


@pytest.fixture
def good_zip(tmp_path: Path) -> bytes:
    return small_zip(tmp_path)


def upload(client: TestClient[Any], version_id: str, data: bytes, **kwargs: Any) -> Any:
    kwargs.setdefault("headers", ZIP)
    return client.post(f"/versions/{version_id}/upload", content=data, **kwargs)


# --- uploads -------------------------------------------------------------------------------


def test_raw_upload_records_the_zip_on_the_version(client, settings, version, good_zip):
    response = upload(client, version["id"], good_zip)

    assert response.status_code == 200, response.text
    body = response.json()
    digest = sha256(good_zip)
    assert body["zip_sha256"] == digest
    assert body["deployment_zip"] == f"sha256:{digest}"
    assert body["zip_size"] == len(good_zip)
    assert body["zip_entry_count"] == 3
    assert body["zip_migrations"] == sorted(MIGRATIONS)
    assert body["uploaded_at"] is not None
    assert body["updated"] == body["uploaded_at"] > version["created"]
    assert client.get(f"/versions/{version['id']}").json() == body
    assert blob_files(settings) == [settings.blobs_dir / "sha256" / digest[:2] / digest]


@pytest.mark.parametrize(
    "content_type",
    ["application/zip", "application/octet-stream", "application/x-zip-compressed", None],
)
def test_raw_body_content_types(client, version, good_zip, content_type):
    headers = {"content-type": content_type} if content_type else {}

    response = upload(client, version["id"], good_zip, headers=headers)

    assert response.status_code == 200, response.text
    assert response.json()["zip_sha256"] == sha256(good_zip)


def test_multipart_upload(client, settings, version, good_zip):
    files = {"file": ("app.zip", good_zip, "application/zip")}

    response = client.post(f"/versions/{version['id']}/upload", files=files)

    assert response.status_code == 200, response.text
    assert response.json()["zip_sha256"] == sha256(good_zip)
    assert tmp_files(settings) == []


def test_chunked_upload_without_content_length(client, version, good_zip):
    def chunks() -> Iterator[bytes]:
        for start in range(0, len(good_zip), 1000):
            yield good_zip[start : start + 1000]

    response = upload(client, version["id"], chunks())

    assert response.status_code == 200, response.text
    assert response.json()["zip_size"] == len(good_zip)


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "image/png"])
def test_other_content_types_are_415(client, settings, version, good_zip, content_type):
    response = upload(client, version["id"], good_zip, headers={"content-type": content_type})

    error = check_error(response, 415, "unsupported_media_type")
    assert "application/zip" in error["message"]
    assert blob_files(settings) == []


def test_upload_to_unknown_version_is_404(client, settings, good_zip):
    check_error(upload(client, new_id(), good_zip), 404, "not_found")
    assert blob_files(settings) == []


def test_multipart_without_a_file_part_is_422(client, settings, version):
    response = client.post(f"/versions/{version['id']}/upload", files={"zip": b"x"})

    check_error(response, 422, "validation_failed", ["zip"])
    for body, field in [
        (b'--b\r\nContent-Disposition: form-data; name=""\r\n\r\nx\r\n--b--\r\n', "form"),
        (b"--b--\r\n", "file"),
    ]:
        response = client.post(
            f"/versions/{version['id']}/upload",
            content=body,
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
        check_error(response, 422, "validation_failed", [field])
    assert blob_files(settings) == []


def test_broken_multipart_is_400(client, settings, version, good_zip):
    body = b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\n' + good_zip[:500]

    response = client.post(
        f"/versions/{version['id']}/upload",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=b"},
    )

    error = check_error(response, 400, "bad_request")
    assert "multipart" in error["message"]
    check_error(
        client.post(
            f"/versions/{version['id']}/upload",
            content=body,
            headers={"content-type": "multipart/form-data"},
        ),
        400,
        "bad_request",
    )
    assert blob_files(settings) == []


def test_custom_binary_name_is_required_at_the_root(client, new_app, app_record, new_version):
    custom = new_app(app_record["server_id"], binary_name="myapp")
    version = new_version(custom["id"])
    with_pocketbase = raw_zip(app())
    with_myapp = raw_zip([RawEntry("myapp", FAKE_BINARY)])

    error = check_error(upload(client, version["id"], with_pocketbase), 422, "missing_binary")
    assert "'myapp'" in error["message"]
    assert upload(client, version["id"], with_myapp).status_code == 200


# --- refusals ------------------------------------------------------------------------------


def _client_for(case: BadZip, tmp_path: Path) -> TestClient[Any]:
    settings = Settings(
        data_dir=tmp_path / "data",
        zip_max_entries=case.limits.max_entries,
        zip_max_uncompressed_bytes=case.limits.max_uncompressed,
        zip_max_ratio=case.limits.max_ratio,
    )
    client = TestClient(create_app(settings, token="t" * 32), base_url=BASE_URL)
    client.headers["Authorization"] = "Bearer " + "t" * 32
    return client


def _new_version(client: TestClient[Any]) -> dict[str, Any]:
    server = client.post("/servers", json={"name": "s", "host": "203.0.113.10"}).json()
    app = client.post("/apps", json={"name": "a", "server_id": server["id"]}).json()
    body = {"app_id": app["id"], "version_number": "1"}
    version: dict[str, Any] = client.post("/versions", json=body).json()
    return version


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_every_bad_zip_is_refused_with_its_code_and_nothing_is_kept(case: BadZip, tmp_path):
    """The whole corpus, raw and as a form, then in a create-with-zip form."""
    data = case.build()
    with _client_for(case, tmp_path) as client:
        version = _new_version(client)
        blobs = Settings(data_dir=tmp_path / "data").blobs_dir

        for kwargs in ({"content": data, "headers": ZIP}, {"files": {"file": data}}):
            response = client.post(f"/versions/{version['id']}/upload", **kwargs)
            error = check_error(response, 422, case.code.value)
            assert case.says in error["message"]
            assert not [p for p in blobs.rglob("*") if p.is_file()]

        form = {"app_id": version["app_id"], "version_number": "2"}
        response = client.post("/versions/with-zip", data=form, files={"file": data})
        check_error(response, 422, case.code.value)
        assert client.get(f"/versions/{version['id']}").json() == version
        assert client.get("/versions").json()["total"] == 1
        assert not [p for p in blobs.rglob("*") if p.is_file()]


def test_a_refused_upload_keeps_the_previous_zip(client, settings, version, good_zip):
    upload(client, version["id"], good_zip)
    before = client.get(f"/versions/{version['id']}").json()

    check_error(upload(client, version["id"], b"not a zip"), 422, "not_a_zip")

    assert client.get(f"/versions/{version['id']}").json() == before
    assert len(blob_files(settings)) == 1


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[tuple[TestClient[Any], Settings]]:
    """A client whose uploads may be 64 KiB at most."""
    settings = Settings(data_dir=tmp_path / "limited", max_upload_bytes=64 << 10)
    with TestClient(create_app(settings, token="t" * 32), base_url=BASE_URL) as client:
        client.headers["Authorization"] = "Bearer " + "t" * 32
        yield client, settings


def test_over_the_size_limit_is_413_and_nothing_is_kept(limited, tmp_path):
    client, settings = limited
    version = _new_version(client)
    big = small_zip(tmp_path, filler_bytes=100 << 10)
    at_limit = small_zip(tmp_path, "fits.zip", filler_bytes=(64 << 10) - 2000)

    def chunked() -> Iterator[bytes]:
        yield from (big[i : i + 4096] for i in range(0, len(big), 4096))

    attempts = [
        {"content": big, "headers": ZIP},  # Content-Length says so: refused before reading
        {"content": chunked(), "headers": ZIP},  # no length: refused while streaming
        {"files": {"file": big}},
    ]
    for kwargs in attempts:
        response = client.post(f"/versions/{version['id']}/upload", **kwargs)
        error = check_error(response, 413, "payload_too_large")
        assert "64.0 KiB" in error["message"] or str(64 << 10) in error["message"]
        assert blob_files(settings) == []
    form = {"app_id": version["app_id"], "version_number": "2"}
    response = client.post("/versions/with-zip", data=form, files={"file": big})
    check_error(response, 413, "payload_too_large")
    assert blob_files(settings) == []
    assert len(at_limit) <= 64 << 10
    assert upload(client, version["id"], at_limit).status_code == 200


# --- downloads -----------------------------------------------------------------------------


@pytest.fixture
def uploaded(client, version, good_zip):
    assert upload(client, version["id"], good_zip).status_code == 200
    return version


def test_download_returns_the_zip_with_its_headers(client, uploaded, good_zip):
    response = client.get(f"/versions/{uploaded['id']}/download")

    assert response.status_code == 200
    assert response.content == good_zip
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-length"] == str(len(good_zip))
    assert response.headers["etag"] == f'"{sha256(good_zip)}"'
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-disposition"] == 'attachment; filename="blog-1.4.0.zip"'


def test_download_is_an_octet_stream_when_that_is_all_the_client_accepts(
    client, uploaded, good_zip
):
    answers = {
        accept: client.get(f"/versions/{uploaded['id']}/download", headers={"accept": accept})
        for accept in ("application/octet-stream", "application/zip, application/octet-stream")
    }
    ranged = client.get(
        f"/versions/{uploaded['id']}/download",
        headers={"accept": "application/octet-stream", "range": "bytes=0-9"},
    )

    octets, either = answers.values()
    assert octets.headers["content-type"] == "application/octet-stream"
    assert octets.content == good_zip
    assert either.headers["content-type"] == "application/zip"
    assert ranged.status_code == 206
    assert ranged.headers["content-type"] == "application/octet-stream"
    assert ranged.content == good_zip[:10]


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=0-0", 0, 1),
        ("bytes=10-109", 10, 110),
        ("bytes=100-", 100, None),
        ("bytes=-100", -100, None),
        ("bytes=5-999999999", 5, None),
        ("bytes=-999999999", 0, None),
        ("bytes=5-" + "9" * 5000, 5, None),
        ("bytes=-" + "9" * 5000, 0, None),
    ],
)
def test_a_range_returns_exactly_those_bytes(client, uploaded, good_zip, header, start, stop):
    response = client.get(f"/versions/{uploaded['id']}/download", headers={"Range": header})

    assert response.status_code == 206, response.text
    expected = good_zip[start:stop]
    first = good_zip.index(expected) if start < 0 else start
    assert response.content == expected
    assert response.headers["content-length"] == str(len(expected))
    assert response.headers["content-range"] == (
        f"bytes {first}-{first + len(expected) - 1}/{len(good_zip)}"
    )
    assert response.headers["etag"] == f'"{sha256(good_zip)}"'


@pytest.mark.parametrize(
    "header", ["bytes=999999-", "bytes=-0", "bytes={size}-", "bytes=" + "9" * 5000 + "-"]
)
def test_an_unsatisfiable_range_is_416(client, uploaded, good_zip, header):
    response = client.get(
        f"/versions/{uploaded['id']}/download",
        headers={"Range": header.format(size=len(good_zip))},
    )

    check_error(response, 416, "range_not_satisfiable")
    assert response.headers["content-range"] == f"bytes */{len(good_zip)}"


@pytest.mark.parametrize(
    "headers",
    [
        {"Range": "bytes=0-9, 20-29"},
        {"Range": "bytes=9-0"},
        {"Range": "items=0-9"},
        {"Range": "bytes=a-b"},
        {"Range": "bytes=-"},
        {"Range": "bytes=0-9", "If-Range": '"stale"'},
    ],
)
def test_ranges_we_do_not_serve_get_the_whole_file(client, uploaded, good_zip, headers):
    response = client.get(f"/versions/{uploaded['id']}/download", headers=headers)

    assert response.status_code == 200
    assert response.content == good_zip


def test_if_range_with_the_current_etag_gets_the_range(client, uploaded, good_zip):
    headers = {"Range": "bytes=0-9", "If-Range": f'"{sha256(good_zip)}"'}

    response = client.get(f"/versions/{uploaded['id']}/download", headers=headers)

    assert response.status_code == 206
    assert response.content == good_zip[:10]


def test_download_before_upload_is_404(client, version):
    error = check_error(client.get(f"/versions/{version['id']}/download"), 404, "not_found")
    assert "upload" in error["message"]
    check_error(client.get(f"/versions/{new_id()}/download"), 404, "not_found")


@pytest.fixture(scope="module")
def large_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 150 MB app: the real PocketBase binary plus incompressible filler."""
    path = tmp_path_factory.mktemp("large") / "app.zip"
    return build_app_zip(
        path, binary=pocketbase_binary("0.40.6"), migrations=MIGRATIONS, filler_bytes=140 << 20
    )


@pytest.mark.slow
def test_a_150_mb_real_app_round_trips(client, settings, version, large_zip):
    data = large_zip.read_bytes()
    digest = sha256(data)
    assert len(data) > 150_000_000
    with large_zip.open("rb") as fp:
        response = upload(client, version["id"], fp)
    assert response.status_code == 200, response.text
    assert response.json()["zip_sha256"] == digest
    assert response.json()["zip_migrations"] == sorted(MIGRATIONS)

    whole = client.get(f"/versions/{version['id']}/download")
    assert whole.status_code == 200
    assert sha256(whole.content) == digest
    assert whole.headers["content-length"] == str(len(data))

    middle = (len(data) // 2, len(data) // 2 + (3 << 20))
    ranged = client.get(
        f"/versions/{version['id']}/download",
        headers={"Range": f"bytes={middle[0]}-{middle[1] - 1}"},
    )
    assert ranged.status_code == 206
    assert ranged.content == data[middle[0] : middle[1]]
    with zipfile.ZipFile(large_zip) as archive:
        binary = archive.getinfo("pocketbase")
    assert binary.file_size == pocketbase_binary("0.40.6").stat().st_size
    assert tmp_files(settings) == []


# --- sharing, replacing, deleting -------------------------------------------------------------


def test_identical_content_is_stored_once_and_deleted_with_its_last_version(
    client, settings, app_record, new_version, good_zip
):
    first, second = new_version(app_record["id"]), new_version(app_record["id"])
    assert upload(client, first["id"], good_zip).status_code == 200
    assert upload(client, second["id"], good_zip).status_code == 200
    assert len(blob_files(settings)) == 1

    assert client.delete(f"/versions/{first['id']}").status_code == 204
    assert len(blob_files(settings)) == 1
    assert client.get(f"/versions/{second['id']}/download").content == good_zip

    assert client.delete(f"/versions/{second['id']}").status_code == 204
    assert blob_files(settings) == []


def test_cascade_delete_of_an_app_releases_only_unshared_zips(
    client, settings, new_server, new_app, new_version, good_zip, tmp_path
):
    server = new_server()
    doomed, kept = new_app(server["id"]), new_app(server["id"])
    other = small_zip(tmp_path, "other.zip", public={"index.html": "<h1>only here</h1>"})
    upload(client, new_version(doomed["id"])["id"], good_zip)
    upload(client, new_version(doomed["id"])["id"], other)
    survivor = new_version(kept["id"])
    upload(client, survivor["id"], good_zip)
    assert len(blob_files(settings)) == 2

    assert client.delete(f"/apps/{doomed['id']}", params={"cascade": "true"}).status_code == 204

    digest = sha256(good_zip)
    assert blob_files(settings) == [settings.blobs_dir / "sha256" / digest[:2] / digest]
    assert client.get(f"/versions/{survivor['id']}/download").content == good_zip


def test_replacing_a_zip_deletes_the_old_one(client, settings, version, good_zip, tmp_path):
    other = small_zip(tmp_path, "other.zip", public={"index.html": "<h1>v2</h1>"})
    upload(client, version["id"], good_zip)

    response = upload(client, version["id"], other)

    assert response.json()["zip_sha256"] == sha256(other)
    assert response.json()["zip_entry_count"] == 4
    digest = sha256(other)
    assert blob_files(settings) == [settings.blobs_dir / "sha256" / digest[:2] / digest]
    assert upload(client, version["id"], other).status_code == 200  # same again: still one
    assert len(blob_files(settings)) == 1


@pytest.mark.parametrize("status", ["queued", "running", "succeeded", "failed"])
def test_a_deployed_versions_zip_cannot_be_replaced(
    client, settings, app_record, uploaded, good_zip, tmp_path, status
):
    add_deployment(settings, app_record["id"], uploaded["id"], status)
    before = client.get(f"/versions/{uploaded['id']}").json()

    response = upload(client, uploaded["id"], small_zip(tmp_path, "v2.zip", filler_bytes=10))

    error = check_error(response, 409, "conflict")
    assert "deployed" in error["message"]
    assert client.get(f"/versions/{uploaded['id']}").json() == before
    assert len(blob_files(settings)) == 1


@pytest.mark.parametrize("status", ["queued", "running"])
def test_delete_is_409_while_a_deployment_is_active(client, settings, app_record, uploaded, status):
    add_deployment(settings, app_record["id"], uploaded["id"], status)

    error = check_error(client.delete(f"/versions/{uploaded['id']}"), 409, "conflict")

    assert "queued or running" in error["message"]
    assert client.get(f"/versions/{uploaded['id']}").status_code == 200
    assert len(blob_files(settings)) == 1


def test_delete_after_finished_deployments_takes_their_history(
    client, settings, app_record, uploaded
):
    for status in ("succeeded", "failed", "cancelled"):
        add_deployment(settings, app_record["id"], uploaded["id"], status)

    assert client.delete(f"/versions/{uploaded['id']}").status_code == 204

    with sqlite3.connect(settings.data_dir / "pbdeployer.db") as db:
        assert db.execute("SELECT count(*) FROM deployments").fetchone() == (0,)
    assert blob_files(settings) == []


def test_delete_is_409_for_the_apps_current_version(client, settings, app_record, uploaded):
    with sqlite3.connect(settings.data_dir / "pbdeployer.db") as db:
        # A deploy records the live version by its id, as the release handler does.
        db.execute(
            "UPDATE apps SET current_version = ? WHERE id = ?", (uploaded["id"], app_record["id"])
        )

    error = check_error(client.delete(f"/versions/{uploaded['id']}"), 409, "conflict")

    assert "current version" in error["message"]
    assert len(blob_files(settings)) == 1
    assert client.get(f"/versions/{uploaded['id']}").status_code == 200


# --- create with zip -------------------------------------------------------------------------


def test_create_with_zip_in_one_form(client, settings, app_record, good_zip):
    form = {"app_id": app_record["id"], "version_number": "2.0.0", "notes": "one request"}

    response = client.post("/versions/with-zip", data=form, files={"file": good_zip})

    assert response.status_code == 201, response.text
    body = response.json()
    assert {k: body[k] for k in form} == form
    assert body["zip_sha256"] == sha256(good_zip)
    assert body["zip_migrations"] == sorted(MIGRATIONS)
    assert client.get(f"/versions/{body['id']}/download").content == good_zip
    assert len(blob_files(settings)) == 1


def test_create_with_zip_checks_fields_before_the_file(client, settings, app_record, good_zip):
    cases = [
        ({"version_number": "2"}, 422, "validation_failed", ["app_id"]),
        ({"app_id": app_record["id"]}, 422, "validation_failed", ["version_number"]),
        ({"app_id": app_record["id"], "version_number": "bad label"}, 422, None, None),
        ({"app_id": new_id(), "version_number": "2"}, 422, "validation_failed", ["app_id"]),
        ({"app_id": app_record["id"], "version_number": "2", "x": "1"}, 422, None, ["x"]),
    ]
    for form, status, code, fields in cases:
        response = client.post("/versions/with-zip", data=form, files={"file": good_zip})
        assert response.status_code == status, (form, response.text)
        if code:
            check_error(response, status, code, fields)
        elif fields:
            assert [d["field"] for d in response.json()["error"]["details"]] == fields
    assert client.get("/versions").json()["total"] == 0
    assert blob_files(settings) == []


def test_create_with_zip_refuses_a_taken_number(
    client, settings, app_record, new_version, good_zip
):
    new_version(app_record["id"], version_number="2")
    form = {"app_id": app_record["id"], "version_number": "2"}

    response = client.post("/versions/with-zip", data=form, files={"file": good_zip})

    check_error(response, 409, "conflict")
    assert blob_files(settings) == []


def _form_post(client: TestClient[Any], *parts: tuple[str, bytes]) -> Any:
    """The with-zip form with its parts in exactly the order given."""
    boundary = "b0undary"
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
            for name, value in parts
        )
        + f"--{boundary}--\r\n".encode()
    )
    return client.post(
        "/versions/with-zip",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )


def test_create_with_zip_takes_the_fields_in_any_order(client, settings, app_record, good_zip):
    app_id = ("app_id", app_record["id"].encode())
    orders = [
        [("file", good_zip), app_id, ("version_number", b"1"), ("notes", b"file first")],
        [app_id, ("file", good_zip), ("version_number", b"2"), ("notes", b"file between")],
        [app_id, ("version_number", b"3"), ("file", good_zip), ("notes", b"notes last")],
    ]
    for parts in orders:
        response = _form_post(client, *parts)

        assert response.status_code == 201, response.text
        body = response.json()
        sent = {name: value.decode() for name, value in parts if name != "file"}
        assert {name: body[name] for name in sent} == sent
        assert body["zip_sha256"] == sha256(good_zip)
    assert len(blob_files(settings)) == 1
    assert tmp_files(settings) == []


def test_create_with_zip_keeps_nothing_when_a_late_field_is_refused(
    client, settings, app_record, new_version, good_zip
):
    new_version(app_record["id"], version_number="taken")
    app_id = ("app_id", app_record["id"].encode())
    file = ("file", good_zip)
    cases = [
        ([app_id, file], 422, ["version_number"]),
        ([file], 422, ["app_id", "version_number"]),
        ([file, app_id, ("version_number", b"bad label")], 422, ["version_number"]),
        ([file, ("app_id", new_id().encode()), ("version_number", b"2")], 422, ["app_id"]),
        ([file, app_id, ("version_number", b"2"), ("x", b"1")], 422, ["x"]),
        ([app_id, ("version_number", b"2"), file, file], 422, ["file"]),
        ([file, app_id, ("version_number", b"2"), app_id], 422, ["app_id"]),
        ([file, app_id, ("version_number", b"taken")], 409, None),
    ]
    for parts, status, fields in cases:
        response = _form_post(client, *parts)

        assert response.status_code == status, ([name for name, _ in parts], response.text)
        if fields:
            assert [d["field"] for d in response.json()["error"]["details"]] == fields
    assert client.get("/versions", params={"app_id": app_record["id"]}).json()["total"] == 1
    assert blob_files(settings) == []
    assert tmp_files(settings) == []


def test_create_with_zip_needs_a_form(client, app_record, good_zip):
    response = client.post("/versions/with-zip", content=good_zip, headers=ZIP)

    error = check_error(response, 415, "unsupported_media_type")
    assert "multipart/form-data" in error["message"]


def test_json_create_still_works_beside_the_form(client, app_record):
    body = {"app_id": app_record["id"], "version_number": "3.0"}

    response = client.post("/versions", json=body)

    assert response.status_code == 201
    assert response.json()["zip_sha256"] is None
    assert response.json()["zip_migrations"] == []
