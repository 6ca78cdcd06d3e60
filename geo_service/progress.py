"""Progress for long commands: a redrawn bar on a terminal, plain periodic lines anywhere else.

A bar redraws itself with carriage returns, which a log file, a CI page or `2> import.log` keeps
as garbled text. When the stream is not a terminal, :class:`PlainProgress` writes one whole line at
each tenth of the work (or every ``every_s`` seconds when the total is unknown) and one at the end.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO

from tqdm import tqdm

EVERY_S = 10.0  # with no total, a plain line at most this often


class Progress(Protocol):
    n: int

    def update(self, n: int = 1) -> object: ...
    def set_description(self, desc: str) -> object: ...
    def reset(self, total: int | None = None) -> object: ...
    def close(self) -> object: ...


class PlainProgress:
    """Whole lines: ``name: 40 % | 400/1000 rows`` at each tenth, ``name: 1,200 rows`` every ``every_s``."""

    def __init__(self, total: int | None, desc: str, unit: str, file: TextIO, every_s: float = EVERY_S,
                 clock=time.monotonic):
        self.total, self.desc, self.unit, self.file = total, desc, unit.strip(), file
        self.every_s, self.clock = every_s, clock
        self.n = 0
        self._tenth = 0
        self._last = clock()
        self._said = 0  # n at the last line written
        self._closed = False

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.total:
            tenth = min(10, self.n * 10 // self.total)
            if tenth > self._tenth:
                self._tenth = tenth
                self._say()
        elif self.clock() - self._last >= self.every_s:
            self._say()

    def set_description(self, desc: str) -> None:
        self.desc = desc

    def reset(self, total: int | None = None) -> None:
        self.total, self.n, self._tenth, self._said = total, 0, 0, 0
        self._last = self.clock()

    def close(self) -> None:
        if not self._closed and self.n != self._said:
            self._say()
        self._closed = True

    def _say(self) -> None:
        self._last, self._said = self.clock(), self.n
        if self.total:
            line = f"{self.desc}: {100 * self.n // self.total} % | {self.n}/{self.total} {self.unit}"  # tqdm's order
        else:
            line = f"{self.desc}: {self.n:,} {self.unit}"
        print(line, file=self.file, flush=True)


class _Silent:
    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_description(self, desc: str) -> None:
        pass

    def reset(self, total: int | None = None) -> None:
        self.n = 0

    def close(self) -> None:
        pass


def progress(total: int | None, desc: str, unit: str, *, enabled: bool = True,
             file: TextIO | None = None, leave: bool = True) -> Progress:
    """A tqdm bar when ``file`` (stderr by default) is a terminal, else :class:`PlainProgress`."""
    file = file if file is not None else sys.stderr
    if not enabled:
        return _Silent()
    if file.isatty():
        return tqdm(total=total, desc=desc, unit=unit, file=file, dynamic_ncols=True, leave=leave)
    return PlainProgress(total, desc, unit, file)
