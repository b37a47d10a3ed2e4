"""Cost of the replay machinery over a bare backtrader run that submits the same orders (a benchmark, not a test).

    python benchmarks/replay_overhead.py [--data-dir ../shared/data] [--repeat 5] [--start 2007-01-01]

Real closes of QQQ/DVY/SHY/GLD (the sleeves) and SPY (the benchmark) from 2007 on, a seeded monthly weight
schedule (regime work is not part of the replay), default execution (5 bp commission, 5 bp slippage, next-bar
fills) with T-bill interest on cash when IRX.csv is there.

- "replay": :func:`backtests.replay.replay` (feeds, schedule look-ups, cost-aware sizing, interest, fills and
  equity recorded), plus the three benchmarks replayed beside it (array twin) as the pipeline's replay stage
  does;
- "bare": the same four feeds and broker settings in a minimal backtrader strategy that submits the replay's
  own orders (sizes per bar, sells first) from a dict in ``next_open`` and records ``broker.getvalue()`` each
  bar (the least any run producing an equity curve does); it must end on the same value.

Runs alternate in one process and are timed in CPU seconds of this process (``time.process_time``: the
machine is shared, so wall time mostly measures the neighbours); the best of the repeats of each is
compared. Prints the ratio and PASS/FAIL against the 1.10x budget; exits 0 with a clear message when the real
data is absent.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from regimeshift.backtests.benchmarks_beside import replay_benchmarks  # noqa: E402
from regimeshift.backtests.config import ExecutionConfig, RunConfig  # noqa: E402
from regimeshift.data.market import align_macro, load_prices  # noqa: E402
from regimeshift.data.csv_files import read_series
from regimeshift.backtests.bt_engine import BpsCommission, bt  # noqa: E402
from regimeshift.backtests.costs import fraction  # noqa: E402
from regimeshift.backtests.replay import ReplayResult, rebalance_dates, replay  # noqa: E402

SLEEVES = ["QQQ", "DVY", "SHY", "GLD"]
BENCH = "SPY"
BUDGET = 1.10


class _Bare(bt.Strategy):
    params = (("orders", None),)

    def __init__(self) -> None:
        self.values: list[float] = []
        self._t = -1

    def next_open(self) -> None:
        todo = self.p.orders.get(self._t + 1)
        if todo:
            for i, size in todo:
                if size > 0:
                    self.buy(data=self.datas[i], size=size)
                else:
                    self.sell(data=self.datas[i], size=-size)

    def next(self) -> None:
        self._t += 1
        self.values.append(self.broker.getvalue())


def bare_run(prices: pd.DataFrame, orders: dict, ex: ExecutionConfig, interest: dict) -> list[float]:
    """The same feeds and broker as replay(); interest (precomputed per bar) is added like replay adds it."""
    cerebro = bt.Cerebro(stdstats=False, maxcpus=1, cheat_on_open=True)
    for sym in prices.columns:
        px = prices[sym].astype(float)
        frame = pd.DataFrame({"open": px, "high": px, "low": px, "close": px, "volume": 0.0})
        cerebro.adddata(bt.feeds.PandasData(dataname=frame, openinterest=None), name=sym)
    broker = cerebro.broker
    broker.setcash(ex.initial_cash)
    broker.set_checksubmit(False)
    broker.addcommissioninfo(BpsCommission(bps=ex.commission_bps, min_per_order=ex.min_commission))
    broker.set_slippage_perc(fraction(ex.slippage_bps), slip_open=True, slip_match=True, slip_out=True)
    strat_cls = _Bare
    if interest:
        class _BareWithInterest(_Bare):
            def next_open(self) -> None:
                x = interest.get(self._t + 1)
                if x:
                    self.broker.add_cash(x)
                super().next_open()

        strat_cls = _BareWithInterest
    cerebro.addstrategy(strat_cls, orders=orders)
    return cerebro.run()[0].values


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--start", default="2007-01-01")
    args = ap.parse_args()
    data = Path(args.data_dir)
    if not all((data / f"{s}.csv").is_file() for s in [*SLEEVES, BENCH]):
        print(f"replay_overhead: SKIPPED - real data not found in {data} (needs {', '.join([*SLEEVES, BENCH])}.csv)")
        return

    prices = load_prices(data, [*SLEEVES, BENCH], start=args.start)
    rate = None
    if (data / "IRX.csv").is_file():
        irx = align_macro({"IRX": read_series(data / "IRX.csv")}, prices.index)["IRX"]
        rate = irx.ffill().fillna(0.0) / 100.0 / 252.0
    dates = rebalance_dates(prices.index, "monthly")
    w = np.random.default_rng(7).dirichlet(np.ones(len(SLEEVES) + 1), len(dates))[:, : len(SLEEVES)]
    targets = pd.DataFrame(w, index=dates, columns=SLEEVES)
    ex = ExecutionConfig()
    cfg = RunConfig.model_validate(
        {"data": {"benchmark": BENCH}, "sleeves": {n: {s: 1.0} for n, s in zip(["growth", "value", "bonds", "gold"], SLEEVES)}}
    )
    print(
        f"replay_overhead: {', '.join(SLEEVES)} + {BENCH}, {prices.index[0].date()} .. {prices.index[-1].date()} "
        f"({len(prices)} bars), monthly ({len(dates)} decisions), cash interest {'IRX' if rate is not None else 'off'}"
    )

    def ours() -> tuple[float, ReplayResult]:
        t0 = time.process_time()
        rep = replay(prices, targets, ex, cash_rate=rate)
        replay_benchmarks(cfg, prices, None, rate)
        return time.process_time() - t0, rep

    _, rep = ours()  # warm-up, and the orders the bare run submits
    col = {s: i for i, s in enumerate(SLEEVES)}
    pos = {d: i for i, d in enumerate(prices.index)}
    orders: dict[int, list[tuple[int, float]]] = {}
    for d, sym, size in rep.trades[["date", "symbol", "size"]].itertuples(index=False):
        orders.setdefault(pos[d], []).append((col[sym], float(size)))
    # the bare run adds the replay's own interest amounts (cash at t-1 x rate) at the same point of the bar
    interest: dict[int, float] = {}
    if rate is not None:
        acc = np.r_[0.0, rate.to_numpy()[:-1]]
        cash = rep.cash.to_numpy()
        interest = {t: float(cash[t - 1] * acc[t]) for t in range(1, len(cash))}

    def bare() -> tuple[float, list[float]]:
        t0 = time.process_time()
        values = bare_run(prices[SLEEVES], orders, ex, interest)
        return time.process_time() - t0, values

    _, values = bare()
    gap = abs(values[-1] - rep.value.iloc[-1]) / rep.value.iloc[-1]
    print(f"same orders, same end value: replay {rep.value.iloc[-1]:,.2f}  bare {values[-1]:,.2f}  (rel. gap {gap:.1e})")
    t_ours, t_bare = [], []
    for i in range(args.repeat):
        t_ours.append(ours()[0])
        t_bare.append(bare()[0])
        print(f"repeat {i + 1} (CPU s): replay {t_ours[-1]:.3f}s  bare {t_bare[-1]:.3f}s  ratio {t_ours[-1] / t_bare[-1]:.3f}")
    ratio = min(t_ours) / min(t_bare)
    verdict = "PASS" if ratio <= BUDGET else "FAIL"
    print(f"best: replay {min(t_ours):.3f}s  bare {min(t_bare):.3f}s  ratio {ratio:.3f}  ({verdict}, budget {BUDGET:.2f}x)")
    print(f"median ratio {np.median(np.array(t_ours) / np.array(t_bare)):.3f}")


if __name__ == "__main__":
    main()
