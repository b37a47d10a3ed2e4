"""Moved to :mod:`regimeshift.backtests.costs` (the one cost model); this re-export is kept for one release."""
from regimeshift.backtests.costs import plan_orders

__all__ = ["plan_orders"]
