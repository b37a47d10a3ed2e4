"""Progress on stderr: one line per stage (what it did, how long it took) and a bar with an ETA for anything
counted (refits, variants, replays) -- so that no command is silent for more than a couple of seconds.

The command line switches it on for the duration of a command (``reporting``); library code reports into it
without a callback threaded through every layer. Off (the default: the Python API, notebooks, tests) every call
here does nothing. Everything goes to stderr, so piped stdout is unchanged.
"""
from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Any

PREFIX = "regimeshift: "
_STATE: dict[str, Any] = {"on": False, "depth": 0}


def enabled() -> bool:
    return bool(_STATE["on"])


@contextlib.contextmanager
def reporting(on: bool = True) -> Iterator[None]:
    """Progress on (or off) for the block; the previous setting afterwards."""
    before = _STATE["on"]
    _STATE["on"] = on
    try:
        yield
    finally:
        _STATE["on"] = before


@contextlib.contextmanager
def muted() -> Iterator[None]:
    """No stage lines inside the block (a sweep's top-N replays: their bar says which one is running); bars
    still show."""
    _STATE["depth"] += 1
    try:
        yield
    finally:
        _STATE["depth"] -= 1


def say(line: str) -> None:
    """One line on stderr (when on)."""
    if _STATE["on"]:
        sys.stderr.write(f"{PREFIX}{line}\n")
        sys.stderr.flush()


@contextlib.contextmanager
def stage(name: str, words: str, timings: dict[str, float] | None = None) -> Iterator[None]:
    """Time the block; say ``name: words: done in S s`` once it ends. On a terminal the line is shown while the
    stage runs (``name: words ...``) and then completed in place, so a terminal never sits silent and a log
    gets one line per stage."""
    live = _STATE["on"] and not _STATE["depth"] and _isatty()
    if live:
        sys.stderr.write(f"{PREFIX}{name}: {words} ...")
        sys.stderr.flush()
    t0 = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - t0
        if timings is not None:
            timings[name] = seconds
        if live:
            sys.stderr.write("\r\x1b[K")
        if _STATE["on"] and not _STATE["depth"]:
            say(f"{name}: {words}: done in {seconds:.2f} s")


def bar(total: int, desc: str, unit: str = "it", leave: bool = True) -> Any:
    """A tqdm bar on stderr with rate and ETA (disabled when progress is off)."""
    from tqdm import tqdm  # noqa: PLC0415  (only where something is counted)

    return tqdm(total=total, desc=f"{PREFIX}{desc}", unit=unit, leave=leave, disable=not _STATE["on"],
                file=sys.stderr, dynamic_ncols=True, mininterval=0.5, smoothing=0.1)


def _isatty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
