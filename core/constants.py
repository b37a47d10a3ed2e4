"""Names and numbers every stage agrees on. Kept here, below every stage, so none has to import another for them."""
from __future__ import annotations

#: The sleeve that holds uninvested money (earns the cash rate, never traded).
CASH = "cash"

#: Trading days in a year: annualises daily volatility, returns, turnover and regime switch counts.
TRADING_DAYS = 252
