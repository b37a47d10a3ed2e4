"""A process for the crash and lock tests to kill or race: it writes a store or a live folder in a loop.

    python -m tests.crash_worker update STORE FRED_URL DAY1 DAY2   # update alternately to DAY1 and DAY2
    python -m tests.crash_worker signal CONFIG_A CONFIG_B LIVE      # signal alternately from two configs
    python -m tests.crash_worker hold STORE SECONDS FRED_URL DAY    # one update whose Yahoo download is slow

It prints "ready" once its imports are done, then loops until killed (hold: prints "locked" once it holds the
store's lock, does one slow update and exits).
"""
from __future__ import annotations

import datetime
import sys
import time
from pathlib import Path

NOW = datetime.datetime(2020, 12, 11, 22, 30)


def main(argv: list[str]) -> None:
    from regimeshift.backtests.store.store import Store
    from regimeshift.backtests.store.update import Wanted, update_store
    from tests.vendors import RecordedYahoo

    wanted = [Wanted("SPY", "price", "yahoo", "SPY"), Wanted("SHY", "price", "yahoo", "SHY"),
              Wanted("GLD", "price", "yahoo", "GLD"), Wanted("VIX", "macro", "fred", "VIXCLS")]
    mode = argv[0]
    if mode == "update":
        store, url, days = Store(argv[1]), argv[2], argv[3:5]
        yahoo = RecordedYahoo()
        print("ready", flush=True)
        i = 0
        while True:
            yahoo.published = days[i % 2]
            update_store(store, wanted, NOW, fred_url=url, download=yahoo, lock_wait=60)
            i += 1
    elif mode == "signal":
        from regimeshift.backtests.config import load_config
        from regimeshift.live import run_signal

        configs = [load_config(argv[1]), load_config(argv[2])]
        live = Path(argv[3])
        print("ready", flush=True)
        i = 0
        while True:
            run_signal(configs[i % 2], live, wait=60, now=NOW)
            i += 1
    elif mode == "hold":
        store, seconds, url, day = Store(argv[1]), float(argv[2]), argv[3], argv[4]
        yahoo = RecordedYahoo()
        yahoo.published = day

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
