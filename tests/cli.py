"""The command line as a user runs it: ``python -m pbdeployer ...`` as a subprocess, against
the embedded library on a data dir or against a served API, output captured as text.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import msgspec

from tests.served import TOKEN

_OURS = ("PBDEPLOYER_API_URL", "PBDEPLOYER_API_TOKEN", "PBDEPLOYER_DATA_DIR", "NO_COLOR")


class Done(msgspec.Struct, frozen=True):
    code: int
    out: str
    err: str


class Cli:
    """One user's shell: an environment naming the target, and a working directory."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if k not in _OURS} | env
        self.cwd = cwd

    def at(self, cwd: Path) -> Cli:
        return Cli(self.env, cwd)

    @classmethod
    def embedded(cls, data_dir: Path, cwd: Path) -> Cli:
        return cls(cls._base(cwd) | {"PBDEPLOYER_DATA_DIR": str(data_dir)}, cwd)

    @classmethod
    def remote(cls, port: int, cwd: Path, token: str = TOKEN) -> Cli:
        api = {"PBDEPLOYER_API_URL": f"http://127.0.0.1:{port}", "PBDEPLOYER_API_TOKEN": token}
        return cls(cls._base(cwd) | api, cwd)

    @staticmethod
    def _base(cwd: Path) -> dict[str, str]:
        return {
            "PBDEPLOYER_CONFIG": str(cwd / "no-config.toml"),
            "COLUMNS": "200",
            "PYTHONUNBUFFERED": "1",
        }

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "pbdeployer", *args]

    def __call__(self, *args: str, stdin: str = "", timeout: float = 900) -> Done:
        done = subprocess.run(
            self.argv(*args),
            env=self.env,
            cwd=self.cwd,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Done(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str) -> str:
        done = self(*args)
        assert done.code == 0, done
        assert "\x1b[" not in done.out + done.err, "colour on a pipe"
        return done.out

    def json(self, *args: str) -> Any:
        return json.loads(self.ok("--json", *args))

    def start(self, *args: str) -> Running:
        return Running(
            subprocess.Popen(
                self.argv(*args),
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )


def fields(record: str) -> dict[str, str]:
    """A record as printed for people (``label   value`` lines) as a dict."""
    found = {}
    for line in record.splitlines():
        label, _, value = line.strip().partition("  ")
        found[label] = value.strip()
    return found


class Running:
    """A command still running: its output lines as they come, a signal, an answer on stdin."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, into in ((process.stdout, self.out), (process.stderr, self.err)):
            threading.Thread(target=self._read, args=(stream, into), daemon=True).start()

    def _read(self, stream: IO[str] | None, into: list[str]) -> None:
        assert stream is not None
        for line in stream:
            into.append(line)
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 600) -> str:
        """The first line (on stdout or stderr) holding ``text``, from now on."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} in {self.out + self.err}"
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if text in line:
                return line

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def answer(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text)
        self.process.stdin.flush()

    def end(self, timeout: float = 600) -> Done:
        code = self.process.wait(timeout)
        time.sleep(0.2)  # the reader threads drain the pipes
        return Done(code, "".join(self.out), "".join(self.err))
