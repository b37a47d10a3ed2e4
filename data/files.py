"""Find a series' file in a data folder, and say plainly what is there when it is not."""
from __future__ import annotations

import difflib
import errno
import os
from pathlib import Path

from regimeshift.core.errors import DataError


def data_folder(data_dir: str | Path) -> Path:
    directory = Path(data_dir).expanduser()
    if not directory.is_dir():
        raise DataError(f"data directory {directory} does not exist or is not a directory")
    return directory


def price_folder(directory: Path, price_dir: str | Path | None) -> Path:
    if price_dir is None:
        return directory
    folder = Path(price_dir).expanduser()
    if not folder.is_absolute():
        folder = directory / folder
    if not folder.is_dir():
        raise DataError(
            f"data.price_dir: {folder} does not exist or is not a directory (expected a folder of price CSVs; "
            f"a relative path is read from the data directory {directory})"
        )
    return folder


def locate(directory: Path, symbol: str) -> Path:
    """``<SYMBOL>.csv``, else a lower-case ``<symbol>.csv``; DataError listing what is there otherwise."""
    if not isinstance(symbol, str) or not symbol.strip() or any(c in symbol for c in "/\\\0"):
        raise DataError(f"symbol {symbol!r}: not a plain name (expected e.g. 'SPY')")
    tried = dict.fromkeys([f"{symbol}.csv", f"{symbol.lower()}.csv"])
    for file_name in tried:
        path = directory / file_name
        if path.is_file():
            return path
    for file_name in tried:
        path = directory / file_name
        what = not_a_file(path)
        if what:
            raise DataError(f"{file_name}: {what} in {directory} (expected a CSV file)")
    raise DataError(
        f"{symbol}.csv: file not found in {directory} (searched {', '.join(tried)}; "
        f"{available_hint(directory, symbol)})"
    )


def not_a_file(path: Path) -> str | None:
    """What ``path`` is when it exists but is no readable file: a folder, a symlink loop, a dangling symlink."""
    if not os.path.lexists(path):
        return None
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except RuntimeError:
            return "is a symlink loop"
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "is a symlink loop"
            return f"is a symlink to {os.readlink(path)}, which does not exist"
    if path.is_dir():
        return "is a folder, not a file"
    if not path.is_file():
        return "is not a regular file"
    return None


def available_hint(directory: Path, wanted: str) -> str:
    try:
        stems = sorted(p.stem for p in directory.glob("*.csv") if p.is_file())
    except OSError:
        stems = []
    if not stems:
        return "no .csv files there"
    close = difflib.get_close_matches(wanted, stems, n=3, cutoff=0.6)
    few = list(dict.fromkeys([*close, *stems]))[:8]
    more = f" and {len(stems) - len(few)} more" if len(stems) > len(few) else ""
    return f"available: {', '.join(few)}{more}"
