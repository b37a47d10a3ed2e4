"""backtrader's side of the replay: the commission scheme and the strategy that follows a precomputed schedule.

Its own module so that importing ``regimeshift.backtests.replay`` (the array twin, the decision-date rules, the
cost model shared by both) neither imports backtrader nor sets the global state it needs (``core.compat``); that
happens when a backtrader replay actually runs.
"""
from __future__ import annotations

import numpy as np
from regimeshift.backtests.costs import commission, plan_orders
from regimeshift.core.compat import backtrader

bt = backtrader()


class BpsCommission(bt.CommInfoBase):
    """Commission as basis points of traded value with an optional minimum per order (:func:`costs.commission`)."""

    params = (
        ("bps", 5.0),
        ("min_per_order", 0.0),
        ("stocklike", True),
        ("commtype", bt.CommInfoBase.COMM_FIXED),
    )

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        if not size:
            return 0.0
        return commission(abs(size) * price, self.p.bps, self.p.min_per_order)


class LongOnlyBroker(bt.brokers.BackBroker):
    """backtrader's broker minus two per-bar loops that cannot change anything in a long-only stock replay.

    On every bar ``BackBroker.next`` walks the held positions twice: once to charge credit interest (it reads
    each position's date as a datetime first, whatever the charge) and once to settle futures-style cash
    adjustments. A long position pays no credit interest unless ``interest_long`` is set, and a stock-like
    commission's cash adjustment is 0.0, so both loops add 0.0 to the cash; they only stamp bookkeeping fields
    that only they read (``pos.datetime`` for the next charge, ``pos.adjbase`` for the next adjustment). When
    any position is short, or any commission charges longs or is not stock-like, backtrader's own ``next``
    runs. Everything else (order activation, submission checks, the pending queue, the value) is unchanged.
    """

    def _stock_book(self) -> bool:
        """Every commission scheme is stock-like and charges longs nothing."""
        return not any(not info._stocklike or info.p.interest_long for info in self.comminfo.values())

    def _get_value(self, datas: object = None, lever: bool = False) -> float:
        """BackBroker's valuation of the whole book (called on every bar), for stock-like commissions with
        ``shortcash`` and no fund history: the same sums in the same order (each position's value, unrealised
        profit, unlevered value), with the commission scheme's calls written out (``getvaluesize`` is
        size x price, ``profitandloss`` size x (price - cost) x mult, ``get_leverage`` its leverage)."""
        if datas is not None or self._fundhist or not self.p.shortcash or not self._stock_book():
            return super()._get_value(datas, lever)
        pos_value = 0.0
        pos_value_unlever = 0.0
        unrealized = 0.0
        while self._cash_addition:
            c = self._cash_addition.popleft()
            self._fundshares += c / self._fundval
            self.cash += c
        schemes = self.comminfo
        for data, position in self.positions.items():
            info = schemes[data._name] if data._name in schemes else schemes[None]
            price = data.close[0]
            size = position.size
            dvalue = size * price
            dunrealized = size * (price - position.price) * info.p.mult
            pos_value += dvalue
            unrealized += dunrealized
            if dvalue > 0:  # long position - unlever
                dvalue -= dunrealized
                pos_value_unlever += (dvalue / info.p.leverage)
                pos_value_unlever += dunrealized
            else:
                pos_value_unlever += dvalue
        self._value = self.cash + pos_value_unlever
        self._fundval = self._value / self._fundshares
        self._valuemkt = pos_value_unlever
        self._valuelever = self.cash + pos_value
        self._valuemktlever = pos_value
        self._leverage = pos_value / (pos_value_unlever or 1.0)
        self._unrealized = unrealized
        return self._value if not lever else self._valuelever

    def next(self) -> None:
        if any(pos.size < 0 for pos in self.positions.values()) or not self._stock_book():
            return super().next()
        while self._toactivate:
            self._toactivate.popleft().activate()
        if self.p.checksubmit:
            self.check_submitted()
        self._process_order_history()
        self.pending.append(None)  # iterate once over the pending queue, as BackBroker.next does
        while True:
            order = self.pending.popleft()
            if order is None:
                break
            if order.expire():
                self.notify(order)
                self._ococheck(order)
                self._bracketize(order, cancel=True)
            elif not order.active():
                self.pending.append(order)
            else:
                self._try_exec(order)
                if order.alive():
                    self.pending.append(order)
                elif order.status == bt.Order.Completed:
                    self._bracketize(order)
        self._get_value()


class ScheduleFollower(bt.Strategy):
    """Reads the precomputed target weights of the bar, if any, and trades towards them."""

    params: tuple[tuple[str, object], ...] = (
        ("schedule", None),  # bar index -> target weights (np.ndarray)
        ("forced", frozenset()),  # bar indices a drift band does not filter
        ("band", None),
        ("accrual", None),  # per-bar cash interest rate (fraction), index t = rate known at close t-1
        ("same_bar", False),
        ("sizing", None),  # keyword arguments of plan_orders, or None for naive sizing (tests only)
    )

    def __init__(self) -> None:
        self.values: list[float] = []
        self.cashes: list[float] = []
        self.fills: list[tuple] = []
        self.n_orders = 0
        self.n_rejected = 0
        self.n_rebalances = 0
        self.partial: set[int] = set()
        self.interest = 0.0
        self._t = -1
        self._pending: np.ndarray | None = None
        self._last_cash = 0.0
        self._started = False
        self.last_decision: tuple[int, np.ndarray] | None = None
        self._schedule = self.p.schedule
        self._forced = self.p.forced
        self._band = self.p.band
        self._accrual = self.p.accrual
        self._same_bar = self.p.same_bar

    def notify_order(self, order: bt.Order) -> None:
        status = order.status
        if status == order.Completed or status == order.Partial:
            if status == order.Partial:
                self.partial.add(order.ref)
            name = order.data._name
            for bit in order.executed.iterpending():
                self.fills.append((bit.dt, name, bit.size, bit.price, bit.comm))
        elif status in (order.Margin, order.Rejected, order.Canceled):
            self.n_rejected += 1

    def _credit_interest(self, t: int) -> None:
        # the day's interest on the cash held over the previous close, at the rate known then; add_cash is
        # booked by the broker's next value update (end of this bar's broker step)
        interest = self._last_cash * self._accrual[t]
        if interest:
            self.broker.add_cash(interest)
            self.interest += interest

    def next_open(self) -> None:
        # cheat-on-open: runs at bar t+1 before its orders execute, so the order for a decision made on the
        # close of t is sized at the price it will fill at
        if self._accrual is not None and self._t >= 0:
            self._credit_interest(self._t + 1)
        if self._pending is not None:
            targets, self._pending = self._pending, None
            self._rebalance(targets, [d.open[0] for d in self.datas])

    def next(self) -> None:
        self._t = t = self._t + 1
        broker = self.broker
        if self._same_bar and self._accrual is not None and t:
            # no next_open without cheat-on-open: credit now and book it before marking the close
            self._credit_interest(t)
            broker._get_value()
        value = broker.getvalue()
        cash = broker.getcash()
        self.values.append(value)
        self.cashes.append(cash)
        self._last_cash = cash
        targets = self._schedule.get(t)
        if targets is None:
            return
        if self._band is not None and self._started and t not in self._forced and not self._drifted(targets, value):
            return
        self._started = True  # the first decision (initial allocation) is never band-filtered
        self.last_decision = (t, targets)
        if self._same_bar:
            self._rebalance(targets, [d.close[0] for d in self.datas])
        else:
            self._pending = targets

    def _drifted(self, targets: np.ndarray, value: float) -> bool:
        """Some held weight (marked at this close) is more than the band away from today's target."""
        if value <= 0:
            return True
        for data, w in zip(self.datas, targets):
            if abs(self.getposition(data).size * data.close[0] / value - w) > self._band:
                return True
        return False

    def _rebalance(self, targets: np.ndarray, prices: list[float]) -> None:
        self.n_rebalances += 1
        held = [self.getposition(d).size for d in self.datas]
        if self.p.sizing is not None:
            orders = plan_orders(self.broker.getcash(), held, prices, targets, **self.p.sizing)
        else:  # naive: target size from value, no cost awareness (shows what plan_orders prevents)
            value = self.broker.getcash() + sum(h * p for h, p in zip(held, prices))
            orders = [(i, float(np.floor(value * w / p)) - h) for i, (w, p, h) in enumerate(zip(targets, prices, held))]
            orders = sorted((o for o in orders if o[1]), key=lambda o: o[1] > 0)
        for i, delta in orders:
            self.n_orders += 1
            if delta > 0:
                self.buy(data=self.datas[i], size=delta)
            else:
                self.sell(data=self.datas[i], size=-delta)


