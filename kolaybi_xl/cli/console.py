"""What the commands show on the terminal besides their result line: progress, questions, notes.

Also the stdout guard: output survives its reader going away (``... | head -1``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, TextIO

from .. import i18n
from ..i18n import _, ngettext
from .common import CommandError


class Progress:
    """A progress bar (tqdm) on a terminal; silent when stderr is not one.

    ``12/40 [00:03<00:07, 4 fatura/sn]``: whole invoices per second in the run's language,
    not tqdm's ``47233.15fatura/s``."""

    BAR = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                desc=self.label,
                file=self.stream,
                disable=not self.stream.isatty(),
                leave=True,
                bar_format=self.BAR,
            )
        if not self.bar.disable:
            elapsed = self.bar.format_dict.get("elapsed") or 0.0
            self.bar.set_postfix_str(rate(done, elapsed), refresh=False)
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def rate(done: int, seconds: float) -> str:
    """``4 invoices/s`` / ``4 fatura/sn``; ``…`` before there is anything to measure."""
    if done <= 0 or seconds <= 0:
        return "…"
    per_second = done / seconds
    shown = i18n.number(per_second, places=0 if per_second >= 10 else 1)
    return ngettext("{n} invoice/s", "{n} invoices/s", round(per_second)).format(n=shown)


# The answer a user types: the run's language's letters; the other language's are taken too.
YES_ANSWERS = frozenset({"e", "evet", "y", "yes"})


def confirm_on_terminal(question: str, *, no_terminal: CommandError | None = None) -> bool:
    """Ask ``question`` on the terminal; without one, refuse (``no_terminal``: its own line)."""
    if not sys.stdin.isatty():
        raise no_terminal or CommandError(
            "collect needs confirmation but there is no terminal; rerun with --yes "
            "(after checking the plan with --dry-run)"
        )
    answer = input(f"{question} {_('[y/N]')} ").strip().casefold()
    return answer in YES_ANSWERS


def say_waiting(count: int, seconds: float) -> None:
    """Collect's note while it waits out requests that got no answer."""
    text = ngettext(
        "waiting up to {seconds} s for KolayBi: {n} collection request got no answer and may "
        "still be processed; it is not sent again before then (--no-wait: leave it pending)",
        "waiting up to {seconds} s for KolayBi: {n} collection requests got no answer and may "
        "still be processed; none is sent again before then (--no-wait: leave them pending)",
        count,
    )
    print(text.format(seconds=i18n.number(seconds), n=count), file=sys.stderr, flush=True)


def say_waiting_undo(count: int, seconds: float) -> None:
    """Undo's note while it waits out requests (undos, or earlier collections) without answer."""
    text = ngettext(
        "waiting up to {seconds} s for KolayBi: {n} request got no answer and may still be "
        "processed; it is not sent again before then (--no-wait: leave it pending)",
        "waiting up to {seconds} s for KolayBi: {n} requests got no answer and may still be "
        "processed; none is sent again before then (--no-wait: leave them pending)",
        count,
    )
    print(text.format(seconds=i18n.number(seconds), n=count), file=sys.stderr, flush=True)


def fail(message: str, code: int) -> int:
    """The one error line of a failed run; returns its exit code."""
    with contextlib.suppress(OSError):
        print(_("kolaybi-xl: error: {message}").format(message=message), file=sys.stderr)
    return code


class PipeGuard:
    """stdout that survives its reader going away (``kolaybi-xl journal --all | head -1``):
    the rest of the output is dropped, the work and its exit code are not."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._closed = False

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop()

    def _drop(self) -> None:
        self._closed = True
        # Python flushes stdout again at exit: point it at nothing so that is quiet too.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
