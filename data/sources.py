"""Where series come from: the :class:`SeriesSource` protocol and its folder-of-CSVs implementation (the
Parquet store, :mod:`regimeshift.data.store.store`, is the other)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
from regimeshift.data.csv_files import read_series, read_with_lines
from regimeshift.data.files import data_folder, locate, price_folder


# -- where series come from ------------------------------------------------------------------------------------
@runtime_checkable
class SeriesSource(Protocol):
    """Where the loader reads series from: a folder of CSVs (:class:`CsvSource`) or a data store. Both hand
    back the same parsed series, so everything after reading (checks, calendar, lags) is one code path."""

    def price(
        self, symbol: str, *, min_rows: int, with_open: bool
    ) -> tuple[pd.Series, pd.Series | None, Callable[[int | None], str]]:
        """The price series (ascending, no NaN), its opens (or None) and ``where(i)``: how to name row i in an
        error (``where(None)``: the series itself)."""
        ...

    def macro(self, name: str) -> pd.Series:
        """The macro series as observed (ascending dates, missing values dropped), at least two rows."""
        ...

    def describe(self, name: str) -> str:
        """How an error names the series (its file, or its place in a store)."""
        ...


class CsvSource:
    """``<dir>/<NAME>.csv`` files as found (prices from ``price_dir`` when given)."""

    def __init__(self, directory: Path, price_dir: Path | None = None) -> None:
        self.directory = directory
        self.price_dir = price_dir or directory
        self.reads: dict[str, pd.DataFrame] = {}  # name -> value (and open) as parsed: what a decision read

    def price(
        self, symbol: str, *, min_rows: int, with_open: bool
    ) -> tuple[pd.Series, pd.Series | None, Callable[[int | None], str]]:
        path = locate(self.price_dir, symbol)
        series, lines, opens = read_with_lines(path, min_rows=min_rows, with_open=with_open, price=True)
        self.reads[symbol] = pd.DataFrame({"value": series, "open": opens if opens is not None else np.nan})
        return series, opens, lambda i: path.name if i is None else f"{path.name} line {lines[i]}"

    def describe(self, name: str) -> str:
        return locate(self.directory, name).name

    def macro(self, name: str) -> pd.Series:
        series = read_series(locate(self.directory, name), min_rows=2)
        self.reads.setdefault(name, pd.DataFrame({"value": series, "open": np.nan}))
        return series


def csv_source(data_dir: str | Path, price_dir: str | Path | None = None) -> CsvSource:
    """The CSV folder as a :class:`SeriesSource`, with the loader's checks on both folders."""
    directory = data_folder(data_dir)
    return CsvSource(directory, price_folder(directory, price_dir))
