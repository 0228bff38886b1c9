"""What every command shares: where it runs, how it prints, and how it ends (its exit code)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
import msgspec

from pbdeployer.console.config import connection
from pbdeployer.console.embedded import EmbeddedTarget
from pbdeployer.console.exits import Exit, exit_code
from pbdeployer.console.remote import RemoteTarget
from pbdeployer.console.render import Output
from pbdeployer.console.target import Target
from pbdeployer.errors import PbDeployerError
from pbdeployer.settings import Settings

F = TypeVar("F", bound=Callable[..., object])
Body = Callable[[Target, Output], Awaitable[Exit | None]]


class Options(msgspec.Struct, kw_only=True):
    api: str | None = None
    data_dir: Path | None = None
    json: bool = False


async def open_target(options: Options) -> Target:
    conn = connection(options.api)
    if conn.api is not None and conn.token is not None:
        return RemoteTarget(conn.api, conn.token)
    return await EmbeddedTarget.open(Settings.from_env(data_dir=options.data_dir))


def run(body: Body) -> None:
    """Run ``body`` against the target and leave with its exit code (errors mapped to one)."""
    options: Options = click.get_current_context().ensure_object(Options)
    out = Output(json=options.json)
    try:
        code = asyncio.run(_run(body, options, out))
    except KeyboardInterrupt:  # before anything was started that Ctrl-C should cancel
        out.error("interrupted")
        code = Exit.CANCELLED
    raise SystemExit(int(code))


async def _run(body: Body, options: Options, out: Output) -> Exit:
    try:
        target = await open_target(options)
    except PbDeployerError as exc:
        out.error(exc.message)
        return exit_code(exc)
    try:
        return await body(target, out) or Exit.OK
    except PbDeployerError as exc:
        out.error(exc.message)
        return exit_code(exc)
    finally:
        await target.close()


def json_option(command: F) -> F:
    """``--json`` on a command (it may also come before the command)."""

    def keep(ctx: click.Context, _: click.Parameter, value: bool) -> None:
        if value:
            ctx.ensure_object(Options).json = True

    return click.option(
        "--json", is_flag=True, expose_value=False, callback=keep, help="print JSON for scripts"
    )(command)
