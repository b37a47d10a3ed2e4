"""A backtrader price feed read from plain lists instead of a DataFrame.

backtrader's ``PandasData`` reads every value with ``DataFrame.iloc[row, col]`` while preloading: with 60 members
and 20 years that is over a million pandas lookups and two thirds of the replay's time. This feed is
``PandasData`` in every respect (same lines, parameters, column mapping and values: a float64 read from a list
is the same float) except that it converts the frame to Python lists once at start, takes the bars' day
numbers computed once for all feeds (``dates``: :func:`day_numbers`), and sets the broker's ``tick_*`` prices
from line buffers looked up once rather than by name on every bar (backtrader's ``_tick_fill`` and
``_tick_nullify``, rewritten with the same effect).

Built on first use (:func:`list_feed`): importing this module neither imports backtrader nor sets the global
state it needs (``core.compat``), like ``replay``.
"""
from __future__ import annotations

from functools import cache
from typing import Any


def day_numbers(index: Any) -> list[float]:
    """backtrader's float day number of each date of ``index`` (what PandasData stores per bar)."""
    from regimeshift.backtests.bt_engine import bt

    return [bt.utils.date2num(t.to_pydatetime()) for t in index]


@cache
def list_feed() -> type:
    """The feed class (``PandasData`` plus a ``dates`` parameter: :func:`day_numbers` of the frame's index)."""
    from regimeshift.backtests.bt_engine import bt

    class ListFeed(bt.feeds.PandasData):  # type: ignore[misc, name-defined]
        params = (("dates", None),)

        def start(self) -> None:
            super().start()
            frame = self.p.dataname
            self._rows = frame.to_numpy(dtype=float).tolist()
            self._dates = self.p.dates if self.p.dates is not None else day_numbers(frame.index)
            self._fields = [(getattr(self.lines, f), c) for f, c in self._colmapping.items()
                            if f != "datetime" and c is not None]
            self._line0 = getattr(self.lines, self._getlinealias(0))
            self._line_list = list(self.lines.lines)  # the buffers persist across reset() (only their arrays change)
            self._dt_line = self.lines.datetime
            self._plain_lines: bool | None = None  # every line an unbounded buffer (see advance)

        def preload(self) -> None:
            # backtrader's preload calls load() once per bar (forward every line, _load, date and filter
            # checks): a fifth of a replay. With no filter, date bound or time-zone input (as the replay builds
            # its feeds) that loop only appends each bar to every line; append the columns whole instead, then
            # end where the loop ends (every line full, its index on the last bar) and rewind the same way.
            if (self._filters or self._ffilters or self._tzinput or self.fromdate != float("-inf")
                    or self.todate != float("inf") or self._idx != -1 or len(self) or not self._rows):
                super().preload()
                return
            n = len(self._rows)
            columns = list(zip(*self._rows))
            values = {id(line): columns[col] for line, col in self._fields}
            values[id(self.lines.datetime)] = self._dates[:n]
            nan = float("nan")
            for line in self.lines.lines:
                line.array.extend(values.get(id(line), (nan,) * n))
                line.idx = n - 1
                line.lencount = n
            self._idx = n  # where _load's last call (the one that found no row) leaves it
            self._last()
            self.home()

        def advance_peek(self) -> float:
            # backtrader's, read from the buffers directly: len(self) and buflen() are each three proxy calls,
            # and cerebro asks every feed on every bar
            first, dt = self._line_list[0], self._dt_line
            if first.lencount < len(first.array) - first.extension:
                return dt.array[dt._idx + 1] if dt.mode == 0 else dt[1]
            return float("inf")

        def advance(self, size: int = 1, datamaster: Any = None, ticks: bool = True) -> None:
            # backtrader's advance of one bar with no data master (what cerebro's preloaded loop calls on every
            # feed, every bar), with each line's index and length moved directly (unbounded buffers: the
            # property setter only assigns); the last bar gets no ticks, as in backtrader
            lines = self._line_list
            plain = self._plain_lines
            if plain is None:  # buffer modes are set before a run starts: judged once, at its first bar
                plain = self._plain_lines = all(line.mode == 0 for line in lines)
            if datamaster is not None or size != 1 or not plain:
                super().advance(size, datamaster, ticks)
                return
            if ticks:
                self._tick_nullify()
            for line in lines:
                line._idx += 1
                line.lencount += 1
            first = lines[0]
            if ticks and first.lencount < len(first.array) - first.extension:
                self._tick_fill()

        def _load(self) -> bool:
            self._idx += 1
            if self._idx >= len(self._rows):
                return False
            row = self._rows[self._idx]
            for line, col in self._fields:
                line[0] = row[col]
            self.lines.datetime[0] = self._dates[self._idx]
            return True

        # The broker reads a bar's tick_open/high/low/close only when it has an order to fill (a few hundred
        # bars of thousands), yet backtrader sets all seven tick_* attributes on every bar of every feed. Here
        # nullifying and filling only record which bar the ticks are of (its buffer position, or None), and
        # the tick_* properties below read that bar's values when asked: the same values, read when needed.
        def _tick_nullify(self) -> None:
            self.__dict__["_tick_at"] = None

        def _tick_fill(self, force: bool = False) -> None:
            d = self.__dict__
            if force or d.get("_tick_at") is None:
                d["_tick_at"] = self._line0.idx

    def tick(line_of: Any) -> property:
        def read(self: Any) -> Any:
            at = self.__dict__.get("_tick_at")
            return None if at is None else line_of(self).array[at]

        return property(read)

    aliases = [a for a in ListFeed.lines.getlinealiases() if a != "datetime"]
    for alias in aliases:
        setattr(ListFeed, f"tick_{alias}", tick(lambda self, a=alias: getattr(self.lines, a)))
    ListFeed.tick_last = tick(lambda self: self._line0)  # type: ignore[attr-defined]
    return ListFeed
