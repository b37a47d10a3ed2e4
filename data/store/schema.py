"""What a store's manifest may hold, checked in one place before any of it is used.

The manifest is a file anyone can edit (or a crash, a sync tool, a hostile archive can leave): every entry is
validated against :class:`SeriesEntry` and every series name must stay a file name inside the store once ``..``
and symlinks are resolved. Anything else is one :class:`~regimeshift.core.errors.DataError` naming the store's
manifest, the entry and the field (exit 2), never a KeyError deep in a reader.
"""
from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from regimeshift.core.atomic import confined
from regimeshift.core.errors import DataError

SERIES_DIR = "series"
HISTORY_DIR = "history"
_NAME = re.compile(r"[A-Za-z0-9^_=.+ -]+")  # a symbol (^VIX, DX-Y.NYB, BRK.B) or a CSV file's stem


def _iso_date(value: str) -> str:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD)") from None
    if len(value) != 10:
        raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD)")
    return value


class SeriesEntry(BaseModel):
    """One series of ``manifest.json``; the values stay as written (dates as ``YYYY-MM-DD`` strings)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    source: str = Field(min_length=1)
    ticker: str = Field(min_length=1)
    kind: Literal["price", "macro", "csv"]
    fetched_at: str
    first: str
    last: str
    rows: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    columns: list[str] = Field(min_length=1)

    @field_validator("first", "last")
    @classmethod
    def _date(cls, value: str) -> str:
        return _iso_date(value)

    @field_validator("fetched_at")
    @classmethod
    def _stamp(cls, value: str) -> str:
        try:
            datetime.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a time (expected YYYY-MM-DDTHH:MM:SS)") from None
        return value

    @field_validator("columns")
    @classmethod
    def _has_value(cls, value: list[str]) -> list[str]:
        if "value" not in value:
            raise ValueError("expected a list of column names including 'value'")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> SeriesEntry:
        if self.first > self.last:
            raise ValueError(f"first {self.first} is after last {self.last}")
        return self


def _why(err: ValidationError) -> str:
    first = err.errors()[0]
    field = ".".join(str(p) for p in first["loc"])
    if first["type"] == "missing":
        text = "missing"
    elif first["type"] == "extra_forbidden":
        text = "not a field of a store entry"
    else:
        text = first["msg"].removeprefix("Value error, ")
    return f"{field}: {text}" if field else text


def check_name(root: Path, name: object) -> str:
    """A series name that maps to a file inside the store: ``NAME`` or ``FOLDER/NAME`` (an imported
    sub-folder), each part a symbol, and nothing that a symlink carries outside the store."""
    if not isinstance(name, str) or not 1 <= len(name.split("/")) <= 2 or not all(
            _NAME.fullmatch(p) and p not in (".", "..") for p in name.split("/")):
        raise DataError(f"{name!r}: not a series name (expected a symbol, or FOLDER/SYMBOL for an imported "
                        "sub-folder)")
    for rel in (f"{SERIES_DIR}/{name}.parquet", f"{HISTORY_DIR}/{name}"):
        try:
            confined(root, rel)
        except DataError:
            raise DataError(f"{name!r}: its file {rel} leads outside the store (a symlink?)") from None
    return name


def check_manifest(root: Path, manifest: Any) -> dict[str, Any]:
    """``manifest`` (parsed JSON) when it is a valid store manifest, else one DataError naming the entry."""
    where = root / "manifest.json"
    if not isinstance(manifest, dict) or not isinstance(manifest.get("series"), dict):
        raise DataError(f"{where}: not a store manifest (expected an object with a 'series' table)")
    if manifest.get("version", 1) != 1:
        raise DataError(f"{where}: version {manifest.get('version')!r}: expected 1 (written by a newer regimeshift?)")
    for name, entry in manifest["series"].items():
        try:
            check_name(root, name)
        except DataError as err:
            raise DataError(f"{where}: series {err}") from None
        if not isinstance(entry, dict):
            raise DataError(f"{where}: series {name!r}: expected an object with source, ticker, kind, fetched_at, "
                            f"first, last, rows, sha256, columns (found {type(entry).__name__} "
                            f"{str(entry)[:40]!r})")
        try:
            SeriesEntry.model_validate(entry)
        except ValidationError as err:
            raise DataError(f"{where}: series {name!r}: {_why(err)}") from None
    return manifest
