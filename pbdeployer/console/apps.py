"""``apps``: the PocketBase apps on servers."""

from __future__ import annotations

import click

from pbdeployer.console import resolve
from pbdeployer.console.context import json_option, run
from pbdeployer.console.render import Column, Output
from pbdeployer.console.target import Target
from pbdeployer.models import App, AppCreate, TlsMode

APP_COLUMNS: list[Column[App]] = [
    Column("NAME", lambda a: a.name),
    Column("STATUS", lambda a: a.status),
    Column("PORT", lambda a: a.http_port),
    Column("SERVICE", lambda a: a.service_name),
    Column("PATH", lambda a: a.remote_path),
    Column("ID", lambda a: a.id),
]
APP_FIELDS: list[Column[App]] = [
    Column("name", lambda a: a.name),
    Column("id", lambda a: a.id),
    Column("status", lambda a: a.status),
    Column("server", lambda a: a.server_id),
    Column("remote path", lambda a: a.remote_path),
    Column("service", lambda a: a.service_name),
    Column("http port", lambda a: a.http_port),
    Column("domain", lambda a: a.domain or "(none: loopback only)"),
    Column("tls", lambda a: a.tls if a.domain else "-"),
    Column("binary", lambda a: a.binary_name),
    Column("current version", lambda a: a.current_version),
    Column("created", lambda a: a.created),
]


@click.group("apps")
def apps() -> None:
    """Apps deployed on servers."""


@apps.command("create")
@click.argument("name")
@click.option("--server", required=True, help="the server (name or id) it runs on")
@click.option("--port", type=int, help="its local HTTP port (default: the next free from 8090)")
@click.option("--path", "remote_path", help="where it lives on the server")
@click.option("--binary", default="pocketbase", show_default=True, help="the binary in its zip")
@click.option("--domain", help="served at https://DOMAIN by the server's proxy (default: none)")
@click.option(
    "--tls",
    type=click.Choice([mode.value for mode in TlsMode]),
    default=TlsMode.ACME.value,
    show_default=True,
    help="the domain's certificate: ACME, the proxy's own CA, or plain HTTP",
)
@json_option
def create(
    name: str,
    server: str,
    port: int | None,
    remote_path: str | None,
    binary: str,
    domain: str | None,
    tls: str,
) -> None:
    """Create an app on a server; with --domain the next deploy serves it there."""

    async def body(target: Target, out: Output) -> None:
        host = await resolve.server(target, server)
        data = AppCreate(
            name=name,
            server_id=host.id,
            http_port=port,
            remote_path=remote_path,
            binary_name=binary,
            domain=domain,
            tls=TlsMode(tls),
        )
        out.record(await target.add_app(data), APP_FIELDS)

    run(body)


@apps.command("list")
@click.option("--server", help="only the apps of this server")
@json_option
def list_apps(server: str | None) -> None:
    """List apps."""

    async def body(target: Target, out: Output) -> None:
        server_id = (await resolve.server(target, server)).id if server else None
        out.table(await resolve.every(lambda p: target.apps(p, server_id)), APP_COLUMNS)

    run(body)


@apps.command("show")
@click.argument("app")
@json_option
def show(app: str) -> None:
    """Show an app (by name or id)."""

    async def body(target: Target, out: Output) -> None:
        out.record(await resolve.app(target, app), APP_FIELDS)

    run(body)
