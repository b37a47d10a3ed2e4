"""A process for the crash and lock tests to kill or race: it writes a store or a live folder in a loop.

    python -m tests.crash_worker update STORE FRED_URL DAY1 DAY2        # update alternately to DAY1 and DAY2
    python -m tests.crash_worker signal CONFIG_A CONFIG_B LIVE          # signal alternately from two configs
    python -m tests.crash_worker fork update|signal ARGS... [WARM_DIR]  # a fork server of either loop (below)
    python -m tests.crash_worker hold STORE SECONDS FRED_URL DAY        # one update whose Yahoo download is slow

``update`` and ``signal`` print "ready" once their imports are done, then loop until killed. ``hold`` prints
"locked" once it holds the store's lock, does one slow update and exits.

``fork``: what makes a kill round cheap. Starting Python, importing pandas, pyarrow, backtrader and the regime
code, and the first pipeline run (lazy imports, compiled kernels, the regime cache read) take seconds, against a
few tenths of a second for one update or signal. The fork server pays that once: it runs one warm-up step (a
signal into WARM_DIR, or by default the live folder itself; an update into the store itself, either day being a valid
state) and times a second, prints "ready SECONDS", then for every "go" line on stdin forks a child that runs the
loop until it is killed ("once I": a child that runs step I and exits), prints "pid PID", waits for the child and
prints "dead STATUS". The test kills the child with SIGKILL at its chosen moment; each child starts with all of
the parent's imports and caches, so the test process itself never needs the pipeline.
"""
from __future__ import annotations

import datetime
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

NOW = datetime.datetime(2020, 12, 11, 22, 30)


def _wanted() -> list:  # type: ignore[type-arg]
    from regimeshift.data.store.update import Wanted

    return [Wanted("SPY", "price", "yahoo", "SPY"), Wanted("SHY", "price", "yahoo", "SHY"),
            Wanted("GLD", "price", "yahoo", "GLD"), Wanted("VIX", "macro", "fred", "VIXCLS")]


def update_step(argv: list[str]) -> Callable[[int], None]:
    """Step i updates STORE to DAY1 (i even) or DAY2 (i odd)."""
    from regimeshift.data.store.store import Store
    from regimeshift.data.store.update import update_store
    from tests.vendors import RecordedYahoo

    store, url, days = Store(argv[0]), argv[1], argv[2:4]
    yahoo, wanted = RecordedYahoo(), _wanted()

    def step(i: int, target: Path | None = None) -> None:
        yahoo.published = days[i % 2]
        update_store(store, wanted, NOW, fred_url=url, download=yahoo, lock_wait=60)

    return step


def signal_step(argv: list[str]) -> Callable[..., None]:
    """Step i writes LIVE's signal from CONFIG_A (i even) or CONFIG_B (i odd)."""
    from regimeshift.backtests.config import load_config
    from regimeshift.live.signal import run_signal

    configs = [load_config(argv[0]), load_config(argv[1])]
    live = Path(argv[2])

    def step(i: int, target: Path | None = None) -> None:
        run_signal(configs[i % 2], target or live, wait=60, now=NOW)

    return step


def loop(step: Callable[[int], None], first: int = 0) -> None:
    i = first
    while True:
        step(i)
        i += 1


def fork_server(step: Callable[..., None], warm: Path | None) -> None:
    from regimeshift.core.workers import die_with_parent

    die_with_parent(os.getppid())  # a test that dies takes its server along...
    server = os.getpid()
    step(0, warm)  # imports, compiled code, caches: paid here once, not by every child
    started = time.perf_counter()
    step(1, warm)
    print(f"ready {time.perf_counter() - started:.3f}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] not in ("go", "once"):
            break
        pid = os.fork()
        if pid == 0:  # the child never returns into the server's loop
            code = 70
            try:
                die_with_parent(server)  # ...and the server its writer
                if words[0] == "go":
                    loop(step)  # until killed
                else:
                    step(int(words[1]))
                    code = 0
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"dead {status}", flush=True)


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "update":
        step = update_step(argv[1:])
        print("ready", flush=True)
        loop(step)
    elif mode == "signal":
        step = signal_step(argv[1:])
        print("ready", flush=True)
        loop(step)
    elif mode == "fork":
        kind, rest = argv[1], argv[2:]
        if kind == "update":
            fork_server(update_step(rest[:4]), None)
        else:
            fork_server(signal_step(rest[:3]), Path(rest[3]) if len(rest) > 3 else None)
    elif mode == "hold":
        from regimeshift.data.store.store import Store
        from regimeshift.data.store.update import update_store
        from tests.vendors import RecordedYahoo

        store, seconds, url, day = Store(argv[1]), float(argv[2]), argv[3], argv[4]
        yahoo = RecordedYahoo()
        yahoo.published = day
        wanted = _wanted()

        def slow(ticker: str, start: str | None):  # type: ignore[no-untyped-def]
            print("locked", flush=True)  # called inside update_store, which holds the store's lock
            time.sleep(seconds / len(wanted))
            return yahoo(ticker, start)

        update_store(store, wanted, NOW, fred_url=url, download=slow)
        print("done", flush=True)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
