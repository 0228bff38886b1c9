"""Each role's own argument check names the one option that failed, run on the controller only.

One playbook applies every role's ``validate`` tasks locally with one bad option per case and
prints what each check said; the checks touch no host.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
SHA = "0" * 64
RELEASE = {"app_release_release": "v1", "app_release_zip_sha256": SHA}
SERVICE = {"service_name": "blog"}
# (role, variables, what the check says: "" when it passes)
CASES: list[tuple[str, dict[str, object], str]] = [
    ("app_release", RELEASE, ""),
    ("app_release", RELEASE | {"app_release_port": 70000}, "app_release_port must be 1-65535"),
    (
        "app_release",
        {"app_release_release": "v1"},
        "app_release_zip_sha256 must be 64 lower-case hex digits (required to deploy)",
    ),
    ("app_release", {"app_release_release": "v1", "app_release_mode": "rollback"}, ""),
    (
        "app_release",
        RELEASE | {"app_release_keep_snapshots": 0, "app_release_binary": "a/b"},
        "app_release_binary must be a plain file name; "
        "app_release_keep_snapshots must be 1 or more",
    ),
    ("service", SERVICE | {"service_port": 0}, "service_port must be 1-65535"),
    ("service", SERVICE | {"service_exec": "a\nb"}, "service_exec must be one line"),
    ("user", {"user_home": "relative"}, "user_home must be a plain absolute path"),
    ("user", {"user_shell": "/bin/sh;id"}, "user_shell must be a plain absolute path"),
    ("proxy", {"proxy_site_tls": "maybe"}, "proxy_site_tls must be acme, internal or off"),
]


def _case_tasks(index: int, role: str, variables: dict[str, object]) -> dict[str, object]:
    include = {
        "name": f"Case {index}",
        "ansible.builtin.include_role": {"name": f"pbdeployer.pocketbase.{role}",
                                         "tasks_from": "validate"},
        "vars": variables,
    }  # fmt: skip
    record = "{{ said | combine({'" + str(index) + "': ansible_failed_result.msg}) }}"
    return {
        "block": [include],
        "rescue": [{"ansible.builtin.set_fact": {"said": record}}],
    }


@pytest.fixture(scope="module")
def said(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What each case's check said, by case index ("" when it passed)."""
    tasks: list[dict[str, object]] = [{"ansible.builtin.set_fact": {"said": {}}}]
    tasks += [_case_tasks(i, role, given) for i, (role, given, _) in enumerate(CASES)]
    tasks.append({"ansible.builtin.debug": {"msg": "SAID {{ said | to_json }}"}})
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]
    playbook = tmp_path_factory.mktemp("checks") / "checks.yml"
    playbook.write_text(yaml.safe_dump(play))
    bin_dir = Path(sys.executable).parent
    env = os.environ | {
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "collections"),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    done = subprocess.run(
        [str(bin_dir / "ansible-playbook"), "-i", "localhost,", str(playbook)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    found = re.search(r'"SAID (\{.*\})"', done.stdout)
    assert found, done.stdout[-3000:]
    answers: dict[str, str] = json.loads(json.loads(f'"{found.group(1)}"'))
    return answers


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)))
def test_the_check_names_only_the_options_that_failed(
    said: dict[str, str], index: int, case: tuple[str, dict[str, object], str]
) -> None:
    assert said.get(str(index), "") == case[2]
