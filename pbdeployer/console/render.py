"""The one rendering layer: records, tables and messages, as text for people or JSON.

With ``--json`` stdout carries only JSON (one document per command) and messages go to
stderr. Colour follows rich: none when stdout is not a terminal or ``NO_COLOR`` is set.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec
from rich.console import Console
from rich.table import Table
from rich.text import Text

T = TypeVar("T")


class Column(Generic[T]):
    def __init__(self, header: str, value: Callable[[T], object]) -> None:
        self.header = header
        self.value = value


def text(value: object) -> str:
    """A value as a cell: dates to the second, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class Output:
    def __init__(self, *, json: bool) -> None:
        self.json = json
        self.console: Console = Console(highlight=False, soft_wrap=True)
        self.errors: Console = Console(stderr=True, highlight=False, soft_wrap=True)

    def data(self, value: Any) -> None:
        """``value`` (structs, lists of them) as one JSON document on stdout."""
        sys.stdout.write(msgspec.json.encode(value).decode() + "\n")
        sys.stdout.flush()

    def table(self, items: Sequence[T], columns: Sequence[Column[T]], raw: Any = None) -> None:
        if self.json:
            self.data(list(items) if raw is None else raw)
            return
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in columns:
            table.add_column(column.header)
        for item in items:
            table.add_row(*(Text(text(c.value(item))) for c in columns))
        self.console.print(table)

    def record(self, item: T, fields: Sequence[Column[T]], raw: Any = None) -> None:
        if self.json:
            self.data(item if raw is None else raw)
            return
        table = Table(box=None, pad_edge=False, show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for field in fields:
            table.add_row(field.header, Text(text(field.value(item))))
        self.console.print(table)

    def say(self, message: str, style: str = "") -> None:
        """A line for people: stdout, or stderr when stdout carries JSON."""
        (self.errors if self.json else self.console).print(
            message, style=style or None, markup=False
        )

    def error(self, message: str) -> None:
        self.errors.print(f"error: {message}", style="red", markup=False)
