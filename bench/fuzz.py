"""Schema-driven fuzzing of every API operation with many examples, as the suite does with few.

The test suite runs ``tests/api/test_schemathesis.py`` with a few fixed examples to stay quick
and repeatable; this runs the same test with ``--examples`` random ones per operation (positive
and negative data, schemathesis' defaults) and reports, per operation, whether every response
was documented and matched its schema, and how long it took (pytest loads this module as a
plugin to note each operation's outcome). Prints a table and writes ``bench/results/fuzz.json``.

    .venv/bin/python bench/fuzz.py [--examples 500] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "fuzz.json"
TEST = "tests/api/test_schemathesis.py"
OPERATION = re.compile(r"^\w+\[(.+)\]$")


def run(examples: int, workers: int, log: Path) -> tuple[int, float]:
    command = [str(ROOT / ".venv" / "bin" / "pytest"), TEST, "-q", "-p", "no:cacheprovider"]
    command += ["-n", str(workers), "-p", "fuzz"]  # this module, as a plugin: see below
    env = os.environ | {
        "PBDEPLOYER_FUZZ_EXAMPLES": str(examples),
        "PBDEPLOYER_FUZZ_LOG": str(log),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")]),
    }
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, check=False)
    return done.returncode, time.perf_counter() - started


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Pytest hook (``-p fuzz``): one JSON line per operation, from the controlling process."""
    log = os.environ.get("PBDEPLOYER_FUZZ_LOG")
    if log is None or os.environ.get("PYTEST_XDIST_WORKER") or report.when != "call":
        return
    failure = report.longreprtext.strip().splitlines()[-12:] if report.failed else None
    line = {
        "operation": report.head_line,
        "passed": report.passed,
        "seconds": round(report.duration, 1),
        "failure": failure,
    }
    with Path(log).open("a") as out:
        out.write(json.dumps(line) + "\n")


def operations(log: Path) -> list[dict[str, Any]]:
    found = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    for op in found:
        op["operation"] = OPERATION.sub(r"\1", op["operation"] or "")
    return sorted(found, key=lambda op: op["operation"].split(" ", 1)[::-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=500, help="examples per operation")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers")
    args = parser.parse_args()
    print(f"fuzzing every operation with up to {args.examples} examples ...")
    with tempfile.TemporaryDirectory(prefix="pbdeployer-fuzz-") as workdir:
        log = Path(workdir) / "operations.jsonl"
        code, seconds = run(args.examples, args.workers, log)
        found = operations(log)
    failed = [op for op in found if not op["passed"]]
    print(f"\n{len(found)} operations, up to {args.examples} examples each, {seconds:.0f} s")
    for op in found:
        print(f"  {'ok ' if op['passed'] else 'FAIL'} {op['operation']:<58}{op['seconds']:>7.1f} s")
    for op in failed:
        print(f"\n{op['operation']}:\n    " + "\n    ".join(op["failure"]))
    result = {
        "examples_per_operation": args.examples,
        "operations": len(found),
        "failed": len(failed),
        "seconds": round(seconds),
        "results": found,
        "command": "bench/fuzz.py " + " ".join(sys.argv[1:]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
