"""The library as a type checker sees it from a user's code (``py.typed``, precise types).

``consumer.py`` is a realistic script: mypy --strict and pyright strict must find nothing in
it. ``mistakes.py`` holds mistakes users make: both must report each marked line, and only
those. ``pyright --verifytypes`` must find almost every public symbol's type known.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent
CONSUMER = HERE / "consumer.py"
MISTAKES = HERE / "mistakes.py"
MIN_KNOWN_PERCENT = 98.0

pytestmark = pytest.mark.slow


def _marked(path: Path) -> set[int]:
    lines = path.read_text().splitlines()
    return {n for n, line in enumerate(lines, 1) if "# mistake" in line}


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.Popen(
        args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _finish(process: subprocess.Popen[str]) -> str:
    out, _ = process.communicate(timeout=300)
    return out


@pytest.fixture(scope="module")
def checked(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> dict[str, str]:
    """Run the three checks side by side (each takes 10-25 s) and keep their output."""
    outside = tmp_path_factory.mktemp("consumer")
    config = {"extraPaths": [str(ROOT)], "typeCheckingMode": "strict"}
    (outside / "pyrightconfig.json").write_text(json.dumps(config))
    (outside / "mypy.ini").write_text("[mypy]\n")  # a user's defaults, not the project's
    cache = request.config.cache.mkdir("mypy-consumer") if request.config.cache else outside
    files = [str(CONSUMER), str(MISTAKES)]
    pyright = [str(BIN / "pyright"), "-p", str(outside / "pyrightconfig.json")]
    running = {
        "mypy": _start(
            [
                sys.executable,
                "-m",
                "mypy",
                "--strict",
                "--config-file",
                str(outside / "mypy.ini"),
                "--cache-dir",
                str(cache),
                "--no-error-summary",
                *files,
            ],
            ROOT,
        ),
        "pyright": _start([*pyright, "--outputjson", *files], outside),
        "verifytypes": _start(
            [*pyright, "--verifytypes", "pbdeployer", "--ignoreexternal", "--outputjson"], outside
        ),
    }
    return {name: _finish(process) for name, process in running.items()}


def _mypy_errors(output: str, path: Path) -> set[int]:
    assert "Found" not in output, output  # --no-error-summary: only a crash or usage says more
    assert re.search(r"^tests/typing/mistakes\.py:\d+: error:", output, re.M), output
    found = re.findall(rf"^{re.escape(str(path.relative_to(ROOT)))}:(\d+): error:", output, re.M)
    return {int(line) for line in found}


def _pyright_errors(output: str, path: Path) -> set[int]:
    report = json.loads(output)
    return {
        d["range"]["start"]["line"] + 1
        for d in report["generalDiagnostics"]
        if d["file"] == str(path) and d["severity"] == "error"
    }


def test_a_realistic_consumer_checks_clean_with_mypy_strict(checked):
    assert _mypy_errors(checked["mypy"], CONSUMER) == set(), checked["mypy"]


def test_a_realistic_consumer_checks_clean_with_pyright_strict(checked):
    assert _pyright_errors(checked["pyright"], CONSUMER) == set(), checked["pyright"]


def test_mypy_strict_catches_each_planted_mistake(checked):
    assert _mypy_errors(checked["mypy"], MISTAKES) == _marked(MISTAKES), checked["mypy"]


def test_pyright_strict_catches_each_planted_mistake(checked):
    assert _pyright_errors(checked["pyright"], MISTAKES) == _marked(MISTAKES), checked["pyright"]


def test_pyright_knows_the_type_of_the_public_symbols(checked):
    report = json.loads(checked["verifytypes"])["typeCompleteness"]
    assert report["pyTypedPath"], "pbdeployer ships no py.typed marker"
    known = report["exportedSymbolCounts"]["withKnownType"]
    total = sum(report["exportedSymbolCounts"].values())
    assert known / total * 100 >= MIN_KNOWN_PERCENT, [
        s["name"] for s in report["symbols"] if not s["isTypeKnown"] and s["isExported"]
    ]
    assert report["completenessScore"] * 100 >= MIN_KNOWN_PERCENT
