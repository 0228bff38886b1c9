"""Mutation testing of one module group against the fast tests that cover it.

Each group in ``tests/mutation.toml`` names the modules to mutate, the tests to run against
each mutant and the floor (killed / all generated) it must keep. mutmut runs in a private copy
of the checkout under ``.mutation/<group>/``, so its config can differ per group. Survivors
listed in ``tests/mutation-accepted.toml`` (each with a reason) are reported apart.

Usage: python scripts/mutate.py [--critical | GROUP ...] [--max-children N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GROUPS_FILE = ROOT / "tests" / "mutation.toml"
ACCEPTED_FILE = ROOT / "tests" / "mutation-accepted.toml"
WORK = ROOT / ".mutation"
COPIED = (
    "pbdeployer", "tests", "playbooks", "roles", "plugins", "meta", "inventory_templates", "api",
)  # fmt: skip
DETECTED = {"killed", "timeout", "caught by type check"}


def _tool_section(group: dict[str, object]) -> str:
    modules = [str(m) for m in group["modules"]]  # type: ignore[attr-defined]
    tests = [str(t) for t in group["tests"]]  # type: ignore[attr-defined]
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["pbdeployer"]\n'
        f"only_mutate = {json.dumps(modules)}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        # tests.mutation_order: the fastest tests first, so most mutants die in milliseconds.
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "tests.mutation_order", "-q",'
        ' "-m", "not slow and not host"]\n'
        'also_copy = ["playbooks", "roles", "plugins", "meta", "inventory_templates", "api", '
        '"ansible.cfg", "galaxy.yml"]\n'
        "use_git_change_detection = false\n"
    )


def _prepare(name: str, group: dict[str, object]) -> Path:
    """A fresh copy of the checkout for the group: mutmut's cache keeps a survivor's verdict
    even after its tests change, so every run starts from nothing."""
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for part in COPIED:
        shutil.copytree(ROOT / part, work / part, ignore=shutil.ignore_patterns("__pycache__"))
    for single in ("ansible.cfg", "galaxy.yml"):
        shutil.copy2(ROOT / single, work / single)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8") + _tool_section(group)
    (work / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    return work


def _results(work: Path, mutmut: Path) -> dict[str, str]:
    out = subprocess.run(
        [str(mutmut), "results", "--all", "true"], cwd=work, capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    statuses = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            statuses[name] = status
    return statuses


def run_group(name: str, group: dict[str, object], accepted: dict[str, str], children: int) -> bool:
    mutmut = Path(sys.executable).parent / "mutmut"
    work = _prepare(name, group)
    started = time.monotonic()
    run = subprocess.run(
        [str(mutmut), "run", "--max-children", str(children)], cwd=work, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    if run.returncode != 0:
        print(run.stdout[-4000:], run.stderr[-4000:], sep="\n")
        print(f"mutate: mutmut failed for group {name!r}")
        return False
    statuses = _results(work, mutmut)
    if not statuses:
        print(f"mutate: group {name!r} generated no mutants")
        return False
    detected = sum(status in DETECTED for status in statuses.values())
    score = detected / len(statuses)
    floor = float(group["floor"])  # type: ignore[arg-type]
    survivors = sorted(m for m, s in statuses.items() if s not in DETECTED)
    explained = detected + sum(m in accepted for m in survivors)
    print(
        f"{name}: {detected}/{len(statuses)} killed = {score:.1%} (floor {floor:.1%}; "
        f"{explained / len(statuses):.1%} with accepted survivors), "
        f"{time.monotonic() - started:.0f} s"
    )
    for mutant in survivors:
        reason = accepted.get(mutant)
        note = f"accepted: {reason}" if reason else "NOT accepted"
        print(f"    {statuses[mutant]}: {mutant}  ({note})")
    if survivors:
        print(f"    see one with: (cd {work.relative_to(ROOT)} && mutmut show NAME)")
    return score >= floor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help="group names from tests/mutation.toml")
    parser.add_argument("--critical", action="store_true", help="the security-critical groups")
    parser.add_argument("--max-children", type=int, default=2)
    args = parser.parse_args()
    groups = tomllib.loads(GROUPS_FILE.read_text(encoding="utf-8"))["groups"]
    accepted = {
        name: entry["reason"]
        for name, entry in tomllib.loads(ACCEPTED_FILE.read_text(encoding="utf-8")).items()
    }
    chosen = [g for g in groups if groups[g].get("critical")] if args.critical else args.groups
    chosen = chosen or list(groups)
    unknown = [g for g in chosen if g not in groups]
    if unknown:
        print(f"mutate: unknown group(s) {', '.join(unknown)}; known: {', '.join(groups)}")
        return 2
    # One group at a time: each already uses --max-children processes.
    ok = [run_group(g, groups[g], accepted, args.max_children) for g in chosen]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
