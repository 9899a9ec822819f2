"""Labelled progress for every step that can take more than a few seconds at scale.

One mechanism for the whole project, so a user sees the same kind of output from data
generation, feature building, text scoring, pretraining, clustering and evaluation:

- on a terminal (stderr is a TTY) a tqdm bar labelled with the step;
- otherwise (CI, ``nohup``, a SLURM log) plain log lines on the ``seglab`` logger at most every
  ``log_every_s`` seconds, so log files stay short and readable;
- ``SEGLAB_PROGRESS=off`` silences both, ``SEGLAB_PROGRESS=bar`` / ``log`` force one kind.

``stage(name)`` times a whole step (one log line when it starts and when it ends, with wall
seconds); ``Progress`` counts units of work inside a step. Only rank 0 of a multi-process job
reports (the other ranks would repeat every line).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

log = logging.getLogger("seglab")
T = TypeVar("T")


def _is_rank_zero() -> bool:
    return all(int(os.environ.get(v, "0") or 0) == 0 for v in ("RANK", "LOCAL_RANK", "SLURM_PROCID"))


def progress_mode() -> str:
    """``bar``, ``log`` or ``off``: what ``Progress`` shows in this process."""
    forced = os.environ.get("SEGLAB_PROGRESS", "auto").strip().lower()
    if forced in ("off", "0", "false", "no") or not _is_rank_zero():
        return "off"
    if forced in ("bar", "log"):
        return forced
    return "bar" if sys.stderr.isatty() else "log"


class Progress:
    """Count ``total`` units of ``desc``: ``update(n)`` as work is done, ``close()`` at the end.

    Use as a context manager, or wrap an iterable with ``track``.
    """

    def __init__(self, desc: str, total: int | None = None, unit: str = "it", log_every_s: float = 10.0):
        self.desc = desc
        self.total = total
        self.unit = unit
        self.log_every_s = float(log_every_s)
        self.mode = progress_mode()
        self.n = 0
        self._t0 = time.perf_counter()
        self._last_log = self._t0
        self._bar = None
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self.n += int(n)
        if self._bar is not None:
            self._bar.update(n)
        elif self.mode == "log":
            now = time.perf_counter()
            if now - self._last_log >= self.log_every_s:
                self._last_log = now
                log.info("%s: %s", self.desc, self._status(now))

    def _status(self, now: float) -> str:
        elapsed = now - self._t0
        rate = self.n / elapsed if elapsed > 0 else float("nan")
        done = f"{self.n:,}" if self.total is None else f"{self.n:,}/{self.total:,} ({100 * self.n / max(self.total, 1):.0f}%)"
        return f"{done} {self.unit}, {elapsed:.0f} s, {rate:,.0f} {self.unit}/s"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(iterable: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate ``iterable`` with a ``Progress`` of ``desc``."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with Progress(desc, total=total, unit=unit) as bar:
        for item in iterable:
            yield item
            bar.update(1)


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Log the start and the wall time of one pipeline step (data, features, text, fit, ...)."""
    quiet = progress_mode() == "off"
    if not quiet:
        log.info("%s ...", name)
    t0 = time.perf_counter()
    try:
        yield
    finally:
        if not quiet:
            log.info("%s done in %.1f s", name, time.perf_counter() - t0)
