"""scikit-learn's parameter protocol (``get_params`` / ``set_params``, the changed-only repr) for the regime models.

Why not inherit ``sklearn.base.BaseEstimator`` (measured reason): importing it imports scikit-learn's utilities
and, through ``sklearn.utils.fixes``, ``scipy.stats``: 0.7 s on this machine, paid by every cold walk-forward in
the main process before its first fit while the second core waits (issue 22's cold run), for three small methods.
The walk-forward itself needs nothing else of scikit-learn. The jump and GMM-HMM models take the protocol from
here too (one source; their engines import scikit-learn anyway). The protocol is the one ``BaseEstimator`` defines:
parameters are the ``__init__`` arguments, stored unchanged under their own names, so ``sklearn.base.clone``,
``check_is_fitted`` and grid searches work on the model as on any estimator (tests/test_regime_spec.py).
"""
from __future__ import annotations

import inspect
from typing import Any, Self


class EstimatorParams:
    """``get_params`` / ``set_params`` as ``sklearn.base.BaseEstimator`` has them (no nested estimators: no
    parameter of the models here is one)."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
            raise RuntimeError(f"{cls.__name__}: an estimator's parameters are the named arguments of its __init__")
        return sorted(p.name for p in params)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The estimator's parameters by name (``deep`` is accepted for scikit-learn's signature)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set parameters by name; an unknown name is a ``ValueError`` naming the valid ones, as in scikit-learn."""
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                                 f"Valid parameters are: {valid!r}.")
            setattr(self, name, value)
        return self

    def __sklearn_tags__(self) -> Any:
        """``BaseEstimator``'s default tags (scikit-learn >= 1.6 reads them in ``check_is_fitted`` and its other
        utilities; only they call this, so scikit-learn is already loaded)."""
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False))

    def __repr__(self) -> str:
        """The parameters that differ from their defaults, as scikit-learn prints an estimator."""
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if repr(v) != repr(defaults.get(k))]
        return f"{type(self).__name__}({', '.join(changed)})"


def not_fitted(message: str) -> Exception:
    """scikit-learn's ``NotFittedError`` (imported only when raised: importing it imports all of scikit-learn)."""
    from sklearn.exceptions import NotFittedError

    return NotFittedError(message)
