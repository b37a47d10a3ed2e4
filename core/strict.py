"""Strict settings, declared once: every settings model (the run config, the regime spec, a sweep file) takes its
types from here, so "0.2" is never a number, "yes" never a flag and 1 never a word, whichever file declares it.

pydantic's strict mode refuses what lax mode would coerce (a string for a number, a bool for an integer, a number
for a string). It also refuses a list where a tuple is declared, but TOML and JSON only have arrays: ``Array`` and
``Pair`` accept a list as the tuple it spells and still check every item strictly.
"""
from __future__ import annotations

import datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

T = TypeVar("T")

#: the model config of every settings model: strict types, frozen, no unknown key, no inf/nan (a weight, cost or
#: rate is never either)
STRICT = ConfigDict(strict=True, frozen=True, extra="forbid", allow_inf_nan=False)


def _array_as_tuple(value: Any) -> Any:
    # only a list becomes a tuple: a string or a number stays what it is, and strict validation refuses it
    return tuple(value) if isinstance(value, list) else value


#: a TOML/JSON array of items of type T, held as a tuple (hashable, frozen)
Array = Annotated[tuple[T, ...], BeforeValidator(_array_as_tuple)]
#: a TOML/JSON array of exactly two strings (a date window), held as a tuple
Pair = Annotated[tuple[str, str], BeforeValidator(_array_as_tuple)]


def _says_something(value: str) -> str:
    if not value.strip():
        raise ValueError(f"expected a name, got {value!r}")
    return value


def _is_a_date(value: str) -> str:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD)") from None
    return value  # as written: the config's digest stays what it was


#: a calendar day written YYYY-MM-DD (2026-13-01 is refused here, not deep inside pandas' slicing)
DateText = Annotated[str, AfterValidator(_is_a_date)]
#: text that says something: "" or blanks would silently mean "nothing" where a name is required
Name = Annotated[str, AfterValidator(_says_something)]


class StrictSettings(BaseModel):
    """The base of every settings model (see ``STRICT``)."""

    model_config = STRICT
