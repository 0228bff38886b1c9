"""Every check accepts what is plain and refuses anything that could carry syntax."""

from __future__ import annotations

import pytest
from msgspec import UNSET

from pbdeployer.errors import FieldProblem, InvalidInput
from pbdeployer.validation import (
    Problems,
    check_binary_name,
    check_domain,
    check_hostname,
    check_local_path,
    check_name,
    check_notes,
    check_package_name,
    check_port,
    check_posix_user,
    check_remote_path,
    check_unit_name,
    check_version_label,
    checked_list,
)

# Injection attempts no check may let through (spaces are covered per check: names allow them).
HOSTILE = [
    "",
    " ",
    "a\n",
    "a\nb",
    "a\r",
    "a\tb",
    "a\x00",
    "a;b",
    "a|b",
    "a&b",
    "$(id)",
    "`id`",
    "${HOME}",
    "{{ x }}",
    "{% raw %}",
    "[group]",
    "a=b",
    "a'b",
    'a"b',
    "a#b",
    "a,b",
    "a:b",
    "a*",
    "a\\b",
    "é",
]

TABLES = {
    check_name: (
        ["web1", "Web 1", "a", "my_app.v2-beta", "1", "a" * 100],
        ["", " web", "-web", ".web", "_web", "web/1", "web;1", "web\n", "a" * 101, "wéb", "100%"],
    ),
    check_hostname: (
        [
            "web1",
            "web-1.example.com",
            "EXAMPLE.com",
            "xn--bcher-kva.example",
            "10.0.0.1",
            "::1",
            "2001:db8::1",
            "a" * 63,
            ".".join(["a" * 63] * 3) + "." + "a" * 61,
        ],
        [
            "web 1",
            "web1\n",
            "web1.example.com\n",
            "10.0.0.1\n",
            "web1;id",
            "[webservers]",
            "ansible_host=x",
            "web1 ansible_user=root",
            "-web1",
            "web1-",
            "web1.",
            ".web1",
            "web..example.com",
            "web_1",
            "a" * 64,
            ".".join(["a" * 63] * 4),
            "user@web1",
            "web1:22",
        ],
    ),
    check_domain: (
        ["app.example.com", "example.com", "a-b.c-d.io", "xn--bcher-kva.example"],
        [
            "localhost",
            "10.0.0.1",
            "::1",
            "app..example.com",
            "app.example.com.",
            "app.example.com\n",
            "*.example.com",
            "app_1.example.com",
            "http://app.example.com",
            "app.example.com/x",
        ],
    ),
    check_posix_user: (
        ["root", "pocketbase", "_svc", "pb-app_2", "a", "a" * 32, "deploy1"],
        [
            "Root",
            "1user",
            "-user",
            "us er",
            "user\n",
            "user;id",
            "a" * 33,
            "usér",
            "user.name",
            "user@host",
            "$(id)",
        ],
    ),
    check_unit_name: (
        ["pocketbase-blog", "blog", "blog.service", "Blog_2.api", "a" * 100, "1blog"],
        [
            "pocketbase@blog",
            "pocketbase@.service",
            "$(x)",
            "a/b",
            "../blog",
            "-blog",
            ".blog",
            "blog..x",
            "blog\n",
            "blog service",
            "a" * 101,
            ".service",
        ],
    ),
    check_remote_path: (
        [
            "/opt/pocketbase/blog",
            "/srv/a",
            "/opt/pb@1/x+y/v_2.0-rc",
            "/a",
            "/opt/...",
            "/" + "a" * 254,
        ],
        [
            "opt/pocketbase",
            "",
            "/",
            "//",
            "//opt",
            "/opt//pb",
            "/opt/",
            "/opt/../etc",
            "/opt/..",
            "/..",
            "/opt/./pb",
            "/opt/.",
            "/opt/pb\n",
            "/opt/p b",
            "/opt/$(id)",
            "/opt/a;b",
            "/opt/{{x}}",
            "/" + "a" * 255,
            "~/pb",
            "/opt/pé",
        ],
    ),
    check_local_path: (
        ["/home/me/.ssh/id_ed25519", "/keys/with space/id", "/a", "/ü/key"],
        [
            "id_ed25519",
            "~/.ssh/id",
            "./key",
            "",
            "/keys/a\nb",
            "/keys/\x00",
            "/keys/\x7f",
            "/" + "a" * 4096,
        ],
    ),
    check_version_label: (
        ["1", "1.4.0", "v2", "2024.01.05", "1.0.0-rc.1", "1.0+build.7", "a_b", "a" * 64],
        [
            "",
            "-1",
            ".1",
            "_1",
            "+1",
            "1.0 beta",
            "1/0",
            "1.0;rm",
            "1.0\n",
            "v1@2",
            "{{x}}",
            "a" * 65,
            "1:0",
        ],
    ),
    check_package_name: (
        ["nginx", "libc6", "g++", "python3.11", "lib-foo+bar"],
        ["N", "a", "Nginx", "-nginx", "nginx;rm", "nginx\n", "ngi nx", "a" * 101, "pkg_1"],
    ),
    check_binary_name: (
        ["pocketbase", "pb-1.2_x86+64", "app.bin", "a" * 100, "@x"],
        [".", "..", "", "bin/pocketbase", "/pocketbase", "pocket base", "pb\n", "pb;x", "a" * 101],
    ),
}
CASES = [(check, value, True) for check, (good, _) in TABLES.items() for value in good] + [
    (check, value, False) for check, (_, bad) in TABLES.items() for value in bad
]
STRING_CHECKS = [c for c in TABLES if c is not check_local_path]


def _case_id(value: object) -> str:
    return value.__name__ if callable(value) else repr(value)[:40]


@pytest.mark.parametrize(("check", "value", "ok"), CASES, ids=_case_id)
def test_check_tables(check, value, ok):
    reason = check(value)

    if ok:
        assert reason is None
    else:
        assert isinstance(reason, str)
        assert reason


@pytest.mark.parametrize("check", STRING_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_no_check_lets_hostile_text_through(check, value):
    assert check(value) is not None


@pytest.mark.parametrize("value", ["/keys/a\nb", "/keys/\r", "/keys/\x1b[31m", "/keys/\x00"])
def test_local_paths_refuse_control_characters(value):
    assert check_local_path(value) is not None


@pytest.mark.parametrize(
    ("port", "ok"),
    [(1, True), (22, True), (65535, True), (0, False), (-1, False), (65536, False), (10**9, False)],
)
def test_check_port(port, ok):
    assert (check_port(port) is None) is ok


def test_check_notes_limit():
    assert check_notes("") is None
    assert check_notes("x" * 10_000) is None
    assert check_notes("multi\nline notes; with $(anything)") is None
    assert check_notes("x" * 10_001) == "must be at most 10000 characters"


def test_problems_collects_every_field_in_order():
    problems = Problems()

    problems.check("host", "a b", check_hostname)
    problems.check("port", 0, check_port)
    problems.check("name", "web1", check_name)

    with pytest.raises(InvalidInput) as caught:
        problems.raise_if_any()
    assert [p.field for p in caught.value.details] == ["host", "port"]
    assert caught.value.details[1] == FieldProblem(
        field="port", reason="must be between 1 and 65535"
    )
    assert caught.value.message == (
        f"host: {caught.value.details[0].reason}; port: must be between 1 and 65535"
    )
    assert caught.value.code == "validation_failed"


@pytest.mark.parametrize("value", [None, UNSET])
def test_problems_skips_values_that_are_not_set(value):
    problems = Problems()

    problems.check("field", value, check_name)

    problems.raise_if_any()
    assert problems.items == []


@pytest.mark.parametrize(
    ("value", "check", "reason"),
    [
        (True, check_name, "must be a string"),
        (1.5, check_name, "must be a string"),
        (["a b"], check_name, "must be a string"),
        (True, check_port, "must be an integer"),
        (False, check_port, "must be an integer"),
        (22.0, check_port, "must be an integer"),
        ("22", check_port, "must be an integer"),
    ],
)
def test_problems_names_a_value_of_the_wrong_type(value, check, reason):
    problems = Problems()

    problems.check("field", value, check)

    assert problems.items == [FieldProblem(field="field", reason=reason)]


def test_problems_add_and_nothing_to_raise():
    problems = Problems()
    problems.raise_if_any()

    problems.add("page", "must be 1 or more")

    with pytest.raises(InvalidInput, match="page: must be 1 or more"):
        problems.raise_if_any()


def test_invalid_input_is_a_value_error_with_one_detail():
    error = InvalidInput.single("server_id", "no server with id 'x'")

    assert isinstance(error, ValueError)
    assert error.details == [FieldProblem(field="server_id", reason="no server with id 'x'")]
    assert str(error) == "server_id: no server with id 'x'"


def test_a_list_is_capped_and_names_each_value_once() -> None:
    assert checked_list("ports", [80, 8080], check_port, max_items=2) == [80, 8080]
    with pytest.raises(InvalidInput) as too_long:
        checked_list("ports", [80, 81, 82], check_port, max_items=2)
    assert too_long.value.details == [
        FieldProblem(field="ports", reason="must have at most 2 items")
    ]
    with pytest.raises(InvalidInput) as repeated:
        checked_list("packages", ["jq", "htop", "jq", "Bad;pkg"], check_package_name)
    assert [p.field for p in repeated.value.details] == ["packages[2]", "packages[3]"]
    assert "repeats 'jq'" in repeated.value.details[0].reason
