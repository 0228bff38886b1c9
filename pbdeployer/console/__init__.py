"""The everyday command line: servers, apps, versions, deploy, rollback, status, logs, tasks.

A client of the library and the API, never a second implementation: commands run against a
``Target`` (the embedded ``Deployer`` on a local data dir, or a running API) and print through
one rendering layer. Exit codes are listed in ``pbdeployer.console.exits``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from pbdeployer import __version__
from pbdeployer.console import apps, deploys, logs, servers, tasks, versions
from pbdeployer.console.context import Options

_EPILOG = """\b
Exit codes: 0 success, 1 failed, 2 invalid input, 3 unreachable, 4 cancelled, 5 not found.
'pbdeployer serve' runs the HTTP API; 'pbdeployer openapi' writes its schema."""


@click.group(epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pbdeployer", message="%(prog)s %(version)s")
@click.option(
    "--api",
    metavar="URL",
    help="a running pbdeployer API (default $PBDEPLOYER_API_URL or the config file); "
    "without one, commands run here on the data dir",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="the local data dir (default $PBDEPLOYER_DATA_DIR or ./.pbdeployer)",
)
@click.option("--json", "as_json", is_flag=True, help="print JSON for scripts")
@click.pass_context
def cli(ctx: click.Context, api: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Deploy PocketBase apps to your own Linux servers over SSH."""
    ctx.obj = Options(api=api, data_dir=data_dir, json=as_json)


for _command in (
    servers.servers,
    apps.apps,
    versions.versions,
    deploys.deploy,
    deploys.rollback,
    deploys.status,
    logs.logs,
    tasks.list_tasks,
    tasks.show_task,
    tasks.cancel,
):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (usage errors are 2, invalid input)."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="pbdeployer")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else int(done.code is not None)
