"""Names and numbers every stage agrees on. Kept here, below every stage, so none has to import another for them."""
from __future__ import annotations

#: The sleeve that holds uninvested money (earns the cash rate, never traded).
CASH = "cash"

#: Trading days in a year: annualises daily volatility, returns, turnover and regime switch counts.
TRADING_DAYS = 252

#: Largest close-to-close move a price may make in one day (a fraction, either way) before the loader calls it a
#: bad tick or an unadjusted split; ``data.max_daily_move`` (see data/checks.py for how it was chosen).
DEFAULT_MAX_DAILY_MOVE = 0.4

#: The stress scenario the tearsheet replays on the current portfolio (``report.shock_date``): the day every asset
#: class but short Treasuries fell at once (the thesis' liquidity squeeze).
DEFAULT_SHOCK_DATE = "2026-02-12"
