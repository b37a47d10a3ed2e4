"""A cached HMM fit, restored into a ``LiquidityHMM`` only when something needs the fitting code.

Restoring ``LiquidityHMM`` imports hmmlearn, scikit-learn and scipy (about a second), yet a run whose walk comes
from the cache (``regimes.cache``) reads only the last model's transition matrix and its naming report. Those
two are computed here from the stored arrays with numpy alone; anything else is delegated to the real model,
built from the same arrays on first use, so the object behaves as the model it stands for.
"""
from __future__ import annotations

from typing import Any

import numpy as np


class StoredHMM:
    """Stands for ``LiquidityHMM.from_state(arrays, scalars)``; builds it only when asked for more than
    ``names``, ``n_states``, ``order_``, ``transmat_`` or ``naming_report()``."""

    def __init__(self, arrays: dict[str, np.ndarray], scalars: dict[str, Any]) -> None:
        self.__dict__["_arrays"] = arrays
        self.__dict__["_scalars"] = scalars
        self.__dict__["_model"] = None

    def restored(self) -> Any:
        """The ``LiquidityHMM`` these arrays describe (built once)."""
        model = self.__dict__["_model"]
        if model is None:
            from regimeshift.regimes.model import LiquidityHMM

            model = LiquidityHMM.from_state(self.__dict__["_arrays"], self.__dict__["_scalars"])
            self.__dict__["_model"] = model
        return model

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy/pickle probe dunders: not the model's business
            raise AttributeError(name)
        return getattr(self.restored(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.restored(), name, value)

    def __getstate__(self) -> dict[str, Any]:
        return {"_arrays": self.__dict__["_arrays"], "_scalars": self.__dict__["_scalars"], "_model": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return repr(self.restored())

    # -- what a cached run reads, from the arrays (the formulas of LiquidityHMM, without its imports) -----------
    @property
    def _params(self) -> dict[str, Any]:
        return self.__dict__["_scalars"]["params"]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._params["names"])

    @property
    def n_states(self) -> int:
        return len(self.names)

    @property
    def order_(self) -> np.ndarray:
        return np.asarray(self.__dict__["_arrays"]["order"])

    @property
    def transmat_(self) -> np.ndarray:
        o = self.order_
        return np.asarray(self.__dict__["_arrays"]["transmat"])[np.ix_(o, o)]

    def _covariances(self) -> np.ndarray:
        """``HMMParams.covariances`` in original units (full matrices), raw order."""
        a = self.__dict__["_arrays"]
        covars = np.asarray(a["covars"])
        if self._params["covariance_type"] != "full":
            covars = np.stack([np.diag(c) for c in covars])
        dof = np.broadcast_to(np.asarray(a["dof"], dtype=float) if "dof" in a else np.inf, (len(covars),))
        with np.errstate(invalid="ignore", divide="ignore"):
            factor = np.where(np.isfinite(dof) & (dof > 2), dof / (dof - 2.0), 1.0)  # a t state's covariance
        scale = np.asarray(a["design_scale"])
        return covars * factor[:, None, None] * np.outer(scale, scale)[None]

    def naming_report(self) -> Any:
        """``LiquidityHMM.naming_report`` from the stored arrays."""
        from regimeshift.regimes import naming

        a, p = self.__dict__["_arrays"], self._params
        o = self.order_
        means = (np.asarray(a["means"]) * np.asarray(a["design_scale"]) + np.asarray(a["design_center"]))[o]
        return naming.naming_report(
            self.names, means, self._covariances()[o], naming.state_weights(self.transmat_),
            int(self.__dict__["_scalars"]["n_train"]), p["feature_names"], order_by=p["order_by"],
            signs=p["stress_signs"], scale=np.asarray(a["design_scale"]) * np.asarray(a["window_scale"]),
        )
