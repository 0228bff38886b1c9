"""Command line: ``pbdeployer serve`` and ``pbdeployer openapi`` here; every other command
(servers, apps, deploy, logs ...) is ``pbdeployer.console``'s."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from pbdeployer import __version__, console
from pbdeployer.api import asyncapi_yaml, create_app, events_markdown, openapi_yaml
from pbdeployer.deployer import Deployer
from pbdeployer.errors import PbDeployerError
from pbdeployer.services import load_or_create_token
from pbdeployer.settings import Settings

DEFAULT_OPENAPI_PATH = Path("api/openapi.yaml")
DEFAULT_ASYNCAPI_PATH = Path("api/asyncapi.yaml")
DEFAULT_EVENTS_PATH = Path("docs/events.md")
_OWN_COMMANDS = ("serve", "openapi")


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if not given or given[0] not in _OWN_COMMANDS:
        return console.main(given)
    args = _parser().parse_args(given)
    if args.command == "serve":
        return _serve(args)
    if args.command == "openapi":
        return _export_documents(args.output, args.asyncapi, args.events)
    _parser().print_help()
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pbdeployer", description=__doc__)
    parser.add_argument("--version", action="version", version=f"pbdeployer {__version__}")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 8080)")
    serve.add_argument("--data-dir", type=Path, help="data directory (default ./.pbdeployer)")
    openapi = commands.add_parser(
        "openapi", help="write the API's OpenAPI and AsyncAPI documents and the event reference"
    )
    openapi.add_argument("--output", type=Path, default=DEFAULT_OPENAPI_PATH)
    openapi.add_argument("--asyncapi", type=Path, default=DEFAULT_ASYNCAPI_PATH)
    openapi.add_argument("--events", type=Path, default=DEFAULT_EVENTS_PATH)
    return parser


def _serve(args: argparse.Namespace) -> int:
    os.umask(0o077)  # whatever this process or Ansible writes is its owner's only
    settings = Settings.from_env(host=args.host, port=args.port, data_dir=args.data_dir)
    deployer = Deployer.open(settings)
    try:
        deployer.claim()  # before the token, so a second server changes nothing
        token, created = load_or_create_token(settings)
    except PbDeployerError as exc:
        sys.stderr.write(f"pbdeployer: not starting: {exc.message}\n")
        return 1
    if created:
        sys.stderr.write(
            f"pbdeployer: new API token (shown once, kept in {settings.token_file}):\n  {token}\n"
        )
    app = create_app(settings, deployer=deployer, token=token)
    uvicorn.run(app, **uvicorn_options(settings))
    return 0


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How ``serve`` runs uvicorn (the benchmarks serve their yardstick the same way).

    WebSocket compression is off: task events are small JSON frames, and deflating each one for
    each subscriber took about an eighth of the server's time per frame (``bench/events.py``,
    100 clients at 100 events/s: p99 47 ms with it, 28 ms without).
    """
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "ws_per_message_deflate": False,
        "http": _with_header_deadline(settings.request_header_timeout_seconds),
    }


_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class _HeaderDeadline(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's headers.

    uvicorn closes idle keep-alive connections, but waits for ever on headers that trickle in
    (or never end). Each request's headers must be complete within ``seconds`` of the
    connection or of the previous answer; the request body has its own deadline in the app.
    """

    seconds = 10.0
    _answered = 0
    _timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        self._answered += 1
        super().on_response_complete()
        self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(self.seconds, self._expire, self._answered)

    def _expire(self, answered: int) -> None:
        waiting = answered == self._answered and self.conn.their_state is h11.IDLE
        if waiting and not self.transport.is_closing():
            self.transport.write(_TIMED_OUT)
            self.transport.close()


def _with_header_deadline(seconds: float) -> type[H11Protocol]:
    return type("HeaderDeadlineProtocol", (_HeaderDeadline,), {"seconds": seconds})


def _export_documents(openapi: Path, asyncapi: Path, events: Path) -> int:
    settings = Settings.from_env()
    app = create_app(settings, token=secrets.token_urlsafe(32))  # never served
    for output, text in (
        (openapi, openapi_yaml(app)),
        (asyncapi, asyncapi_yaml()),
        (events, events_markdown()),
    ):
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        sys.stdout.write(f"wrote {output}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
