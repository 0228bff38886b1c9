"""``servers``: register hosts, check the connection, set up, lock down and audit them."""

from __future__ import annotations

from pathlib import Path

import click
import msgspec

from pbdeployer.console import resolve
from pbdeployer.console.context import json_option, run
from pbdeployer.console.exits import Exit
from pbdeployer.console.render import Column, Output
from pbdeployer.console.target import Target
from pbdeployer.console.tasks import run_task
from pbdeployer.models import AuditFinding, AuditReport, Server, ServerCreate
from pbdeployer.models.audit import FindingStatus, Severity

SERVER_COLUMNS: list[Column[Server]] = [
    Column("NAME", lambda s: s.name),
    Column("HOST", lambda s: f"{s.host}:{s.port}"),
    Column("APP USER", lambda s: s.app_username),
    Column("SET UP", lambda s: s.setup_complete),
    Column("LOCKED", lambda s: s.security_locked),
    Column("ID", lambda s: s.id),
]
SERVER_FIELDS: list[Column[Server]] = [
    Column("name", lambda s: s.name),
    Column("id", lambda s: s.id),
    Column("host", lambda s: s.host),
    Column("port", lambda s: s.port),
    Column("root user", lambda s: s.root_username),
    Column("app user", lambda s: s.app_username),
    Column("key", lambda s: "ssh agent" if s.use_ssh_agent else s.manual_key_path),
    Column("set up", lambda s: s.setup_complete),
    Column("locked down", lambda s: s.security_locked),
    Column("created", lambda s: s.created),
]
FINDING_COLUMNS: list[Column[AuditFinding]] = [
    Column("STATUS", lambda f: f.status.upper()),
    Column("SEVERITY", lambda f: f.severity),
    Column("CHECK", lambda f: f.title),
    Column("EVIDENCE", lambda f: f.evidence),
    Column("FIX", lambda f: f.remediation if f.status is not FindingStatus.PASS else ""),
]


@click.group("servers")
def servers() -> None:
    """Servers pbdeployer deploys to."""


@servers.command("add")
@click.argument("name")
@click.argument("host")
@click.option("--port", default=22, show_default=True, help="SSH port")
@click.option("--user", "root_username", default="root", show_default=True, help="admin login")
@click.option("--app-user", default="pocketbase", show_default=True, help="user apps run as")
@click.option("--key", type=click.Path(dir_okay=False, path_type=Path), help="SSH private key")
@click.option("--agent", is_flag=True, help="use the SSH agent instead of a key file")
@json_option
def add(
    name: str,
    host: str,
    port: int,
    root_username: str,
    app_user: str,
    key: Path | None,
    agent: bool,
) -> None:
    """Register a server reached over SSH at HOST."""
    data = ServerCreate(
        name=name,
        host=host,
        port=port,
        root_username=root_username,
        app_username=app_user,
        use_ssh_agent=agent,
        manual_key_path=str(key.resolve()) if key else None,
    )

    async def body(target: Target, out: Output) -> None:
        out.record(await target.add_server(data), SERVER_FIELDS)

    run(body)


@servers.command("list")
@json_option
def list_servers() -> None:
    """List servers."""

    async def body(target: Target, out: Output) -> None:
        out.table(await resolve.every(target.servers), SERVER_COLUMNS)

    run(body)


@servers.command("show")
@click.argument("server")
@json_option
def show(server: str) -> None:
    """Show a server (by name or id)."""

    async def body(target: Target, out: Output) -> None:
        out.record(await resolve.server(target, server), SERVER_FIELDS)

    run(body)


@servers.command("setup")
@click.argument("server")
@click.option("--package", "packages", multiple=True, help="an extra Debian package (repeat)")
@json_option
def setup(server: str, packages: tuple[str, ...]) -> None:
    """Create the app user and install packages; waits for the end."""

    async def body(target: Target, out: Output) -> Exit:
        found = await resolve.server(target, server)
        task = await target.setup(found.id, packages)
        done, code = await run_task(target, out, task, f"setup of {found.name}")
        if out.json:
            out.data(done)
        return code

    run(body)


@servers.command("lockdown")
@click.argument("server")
@click.option("--open-port", "ports", multiple=True, type=int, help="a TCP port to open (repeat)")
@json_option
def lockdown(server: str, ports: tuple[int, ...]) -> None:
    """Harden sshd, the firewall, fail2ban and upgrades; waits for the end."""

    async def body(target: Target, out: Output) -> Exit:
        found = await resolve.server(target, server)
        task = await target.lockdown(found.id, ports)
        done, code = await run_task(target, out, task, f"lockdown of {found.name}")
        if out.json:
            out.data(done)
        return code

    run(body)


@servers.command("check")
@click.argument("server")
@json_option
def check(server: str) -> None:
    """Check that the server answers over SSH (a read-only audit run)."""

    async def body(target: Target, out: Output) -> Exit:
        found = await resolve.server(target, server)
        task = await target.audit(found.id)
        done, code = await run_task(target, out, task, f"connection check of {found.name}")
        if out.json:
            out.data({"server": found.name, "reachable": code is Exit.OK, "task": done})
        elif code is Exit.OK:
            out.say(f"{found.name} ({found.host}:{found.port}) is reachable", style="green")
        return code

    run(body)


@servers.command("audit")
@click.argument("server")
@click.option("--latest", is_flag=True, help="show the stored report instead of a fresh one")
@json_option
def audit(server: str, latest: bool) -> None:
    """Audit the server's security (read-only) and show the findings."""

    async def body(target: Target, out: Output) -> Exit:
        found = await resolve.server(target, server)
        if latest:
            report = (await target.latest_audit(found.id)).report
        else:
            done, code = await run_task(target, out, await target.audit(found.id), "audit")
            if code is not Exit.OK:
                return code
            report = msgspec.convert(done.result, AuditReport)
        _show_report(out, found, report)
        return Exit.OK

    run(body)


def _order(finding: AuditFinding) -> tuple[bool, int]:
    return finding.status is FindingStatus.PASS, list(Severity).index(finding.severity)


def _show_report(out: Output, server: Server, report: AuditReport) -> None:
    if out.json:
        out.data(report)
        return
    failing = sorted(report.findings, key=_order)
    out.table(failing, FINDING_COLUMNS)
    summary = report.summary
    out.say(
        f"{server.name}: score {report.score}/100 — {summary.pass_} pass, {summary.fail} fail, "
        f"{summary.warn} warn ({report.created:%Y-%m-%d %H:%M:%S} UTC)"
    )
