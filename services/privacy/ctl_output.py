"""Where `privacyctl` prints: a request, a list of them, and a request watched as it progresses.

On a terminal, tables and a live display redrawn in place (rich). Off a terminal (a pipe, a
file, a script), the same tables without colour, and a watched request as plain lines, one per
change. With `--json`, the service's views as JSON (one line per change when watching).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from rich.console import Console
from rich.live import Live

from contracts.privacy import PrivacyRequestView as View
from privacy import ctl_views
from servicekit.clock import utcnow

PLAIN_WIDTH = 200
"""Columns of a table printed off a terminal (rich's default of 80 would fold the ids)."""

Redraw = Callable[[View | None, View], None]


@dataclass
class Output:
    """Prints views for people (tables, a live display) or for scripts (JSON)."""

    console: Console
    errors: TextIO
    json: bool
    due_soon_days: int
    clock: Callable[[], datetime] = field(default=utcnow)

    @classmethod
    def to(cls, out: TextIO, errors: TextIO, *, json: bool, due_soon_days: int) -> Output:
        """Output to `out` (plain when it is not a terminal), errors to `errors`."""
        console = Console(file=out, highlight=False)
        if not console.is_terminal:
            console = Console(file=out, highlight=False, width=PLAIN_WIDTH)
        return cls(console, errors, json, due_soon_days)

    def error(self, text: str) -> None:
        """A one-line message on the error stream."""
        print(f"privacyctl: {text}", file=self.errors, flush=True)

    def _write(self, text: str) -> None:
        self.console.file.write(text + "\n")
        self.console.file.flush()

    def request(self, view: View) -> None:
        """One request with its tasks."""
        if self.json:
            self._write(view.model_dump_json(indent=2))
            return
        self.console.print(ctl_views.request_detail(view, self.clock(), self.due_soon_days))

    def requests(self, views: Sequence[View], next_cursor: str | None) -> None:
        """A table of requests, and whether more are left."""
        if self.json:
            page = {"data": [view.model_dump(mode="json") for view in views]}
            self._write(json.dumps({**page, "next_cursor": next_cursor}, indent=2))
            return
        if not views:
            self._write("no requests")
            return
        self.console.print(ctl_views.requests_table(views, self.clock(), self.due_soon_days))
        if next_cursor is not None:
            self._write(f"more requests: --all for every page (showing {len(views)})")

    @contextlib.contextmanager
    def watching(self) -> Iterator[Redraw]:
        """A function to call with each look at the request: a live display on a terminal,
        plain lines (or JSON lines) of what changed otherwise."""
        if self.json:
            yield self._json_lines
        elif self.console.is_terminal:
            with Live(console=self.console, auto_refresh=False) as live:
                yield lambda _previous, view: live.update(
                    ctl_views.request_detail(view, self.clock(), self.due_soon_days),
                    refresh=True,
                )
        else:
            yield self._plain_lines

    def _json_lines(self, previous: View | None, view: View) -> None:
        if previous is None or previous != view:
            self._write(view.model_dump_json())

    def _plain_lines(self, previous: View | None, view: View) -> None:
        for line in ctl_views.changed_lines(previous, view):
            self._write(line)
