"""How long ``from pbdeployer import Deployer`` takes, this checkout beside a git ref.

Each round imports in a fresh interpreter, alternating between the working tree and the
ref's ``pbdeployer/`` (extracted with ``git archive``), so both see the same machine load.
Prints the medians and their ratio.

    .venv/bin/python bench/import_time.py [--against main] [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATEMENT = "from pbdeployer import Deployer"


def extract(ref: str, dest: Path) -> Path:
    """The ref's package source under ``dest`` (what ``sys.path`` then points at)."""
    archive = subprocess.run(
        ["git", "archive", ref, "pbdeployer"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def import_seconds(source: Path) -> float:
    """Wall time of the import in a new interpreter whose first path entry is ``source``."""
    code = f"import sys; sys.path.insert(0, {str(source)!r}); import time; t = time.perf_counter()"
    code += f"; {STATEMENT}; print(time.perf_counter() - t)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    )
    return float(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--against", default="main", help="git ref to compare with")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = extract(args.against, Path(tmp))
        for source in (before, ROOT):  # compile the bytecode once, outside the timing
            import_seconds(source)
        times: dict[Path, list[float]] = {before: [], ROOT: []}
        started = time.monotonic()
        for _ in range(args.rounds):
            for source, seconds in times.items():
                seconds.append(import_seconds(source))
        old, new = (statistics.median(times[s]) for s in (before, ROOT))
    print(f"{STATEMENT!r}, median of {args.rounds} rounds ({time.monotonic() - started:.0f} s)")
    print(f"  {args.against:<12} {old * 1000:8.0f} ms")
    print(f"  {'this tree':<12} {new * 1000:8.0f} ms   ({new / old:.0%} of {args.against})")


if __name__ == "__main__":
    main()
