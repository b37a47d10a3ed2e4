"""RegimeSpec: every setting of the regime model in one frozen object.

The config builds it (``RegimeConfig.spec``); the estimator (``LiquidityHMM.from_spec``), the walk-forward,
state selection and the cache key all take it. A setting is added here once and reaches every one of them, so
they cannot drift apart (they did: three different ``init`` defaults, a ``cold_surprise`` no config could set).
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError, create_model

from regimeshift.core.errors import ConfigError
from regimeshift.core.strict import STRICT, Array

DEFAULT_NAMES: tuple[str, ...] = ("abundant", "tightening", "crunch")
SCHEDULES = ("monthly", "quarterly", "semiannual", "yearly")
INITS = ("hmmlearn", "kmeans", "mixed")
COVARIANCE_TYPES = ("full", "diag")
MODELS = ("hmm", "jump", "gmmhmm")
EMISSIONS = ("gaussian", "student_t")
PENALTY_CVS = ("window", "walk")


@dataclass(frozen=True)
class RegimeSpec:
    """What to fit (the estimator's parameters) and when (the walk-forward schedule).

    Estimator: ``names`` (calm -> stressed; the number of states), ``covariance_type``, ``n_init`` seeded cold
    starts, ``n_iter``/``tol`` for EM, ``min_covar``, ``sticky`` (heavy-diagonal transition prior), ``init``
    (cold starts: "hmmlearn" k-means means + pooled covariance + random transitions, "kmeans" per-cluster
    covariances and label-count transitions, "mixed" alternating), ``kmeans_n_init``, ``stress_signs`` (per
    feature: +1 higher means more stress, -1 lower means more stress, 0 ignore) and ``seed``.

    Walk-forward: the first fit after ``min_train`` usable rows, then on ``refit`` ("monthly", "quarterly",
    "semiannual" (January and July), "yearly" or every N rows) over an ``"expanding"`` or rolling (N rows) ``window``; warm starts from the
    previous fit compete with ``n_init`` cold starts at the first refit, every ``cold_every``-th refit, when the
    window has grown by ``cold_growth`` since the last competition, and after a period in which more than
    ``cold_surprise`` of the days lay outside every state's 99.9 % ellipsoid.
    """

    # The annotations are the types, enforced strictly (core/strict.py) by ``settings_model()`` in __post_init__:
    # "2" is not an int, "yes" not a bool; a list is accepted where an array is declared.
    names: Array[str] = DEFAULT_NAMES
    covariance_type: str = "full"
    n_init: int = 3
    n_iter: int = 200
    tol: float = 1e-3
    min_covar: float = 1e-3
    sticky: float = 0.0
    init: str = "hmmlearn"
    kmeans_n_init: int = 1
    stress_signs: Array[float] | None = None
    order_by: str = "risk"
    emission: str = "gaussian"
    t_dof: Literal["auto"] | float = "auto"
    feature_names: Array[str] | None = None
    seed: int = 0
    min_train: int = 756
    refit: str | int = "monthly"  # a word of SCHEDULES or a number of rows (the word is checked in _validate)
    window: str | int = "expanding"
    warm_start: bool = True
    cold_every: int = 12
    cold_growth: float = 0.1
    cold_surprise: float = 0.1
    # model family (regimes/generic_walk.py): "hmm" (the Gaussian HMM above), "jump" (statistical jump model,
    # regimes/jump.py: jump_penalty, or "cv" over penalty_grid; jump_continuous; max_feats for the sparse one) or
    # "gmmhmm" (n_mix Gaussian components per state, regimes/gmmhmm.py)
    model: str = "hmm"
    jump_penalty: float | Literal["cv"] = 50.0
    jump_continuous: bool = False
    max_feats: float | None = None
    penalty_grid: Array[float] = (0.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0)
    # how jump_penalty = "cv" chooses: "window" (folds of each training window, at the cold refits) or "walk"
    # (Shu, Yu & Mulvey 2024, sec. 3.4.3: every candidate runs its own walk-forward; on the first day of each month
    # the candidate whose online 0/1 signal had the best Sharpe over the last cv_validation_days rows is used)
    penalty_cv: str = "window"
    cv_validation_days: int = 2016
    n_mix: int = 2
    # signal smoothing (regimes/smoothing.py), any model: the probabilities averaged over the last smooth_days rows,
    # or "cv": k in smooth_grid chosen on the first day of every month by the same validation Sharpe as penalty_cv
    # = "walk" (over cv_validation_days rows before it)
    smooth_days: int | Literal["cv"] = 1
    smooth_grid: Array[int] = (1, 2, 3, 5, 8, 13, 21)

    def __post_init__(self) -> None:
        # every field through its declared type, strictly; arrays that arrive as lists (TOML/JSON) become tuples, so
        # equal specs hash and compare equal
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        try:
            checked = settings_model().model_validate(values)
        except ValidationError as err:
            field = str(err.errors()[0]["loc"][0])
            # a word-or-number field fails each alternative: say them all
            wanted = dict.fromkeys(e["msg"].removeprefix("Input should be ") for e in err.errors()
                                   if e["loc"][:1] == (field,))
            raise ConfigError(f"regimes.{field}: {values[field]!r} (expected {' or '.join(wanted)})") from None
        for name in values:
            object.__setattr__(self, name, getattr(checked, name))
        self._validate()

    def _validate(self) -> None:
        def bad(field: str, expected: str) -> ConfigError:
            return ConfigError(f"regimes.{field}: {getattr(self, field)!r} (expected {expected})")

        if len(self.names) < 2 or len(set(self.names)) != len(self.names):
            raise bad("names", "at least two distinct regime names")
        if self.covariance_type not in COVARIANCE_TYPES:
            raise bad("covariance_type", " or ".join(COVARIANCE_TYPES))
        if self.model not in MODELS:
            raise bad("model", " or ".join(MODELS))
        if self.emission not in EMISSIONS:
            raise bad("emission", " or ".join(EMISSIONS))
        if self.t_dof != "auto" and not (isinstance(self.t_dof, (int, float)) and float(self.t_dof) > 2):
            raise bad("t_dof", '"auto" or a number > 2 (a Student-t with a finite variance)')
        if self.penalty_cv not in PENALTY_CVS:
            raise bad("penalty_cv", " or ".join(PENALTY_CVS))
        if int(self.cv_validation_days) < 21:
            raise bad("cv_validation_days", "an integer >= 21 (about a month of validation days)")
        if self.smooth_days != "cv" and not (isinstance(self.smooth_days, int) and self.smooth_days >= 1):
            raise bad("smooth_days", '"cv" or an integer >= 1 (days averaged; 1 = no smoothing)')
        if not self.smooth_grid or min(self.smooth_grid) < 1:
            raise bad("smooth_grid", "a non-empty list of integers >= 1")
        if self.init not in INITS:
            raise bad("init", ", ".join(INITS))
        if isinstance(self.refit, str) and self.refit not in SCHEDULES:
            raise bad("refit", f"{', '.join(SCHEDULES)} or a number of days")
        if not isinstance(self.refit, str) and int(self.refit) < 1:
            raise bad("refit", "every N days with N >= 1")
        if isinstance(self.window, str) and self.window != "expanding":
            raise bad("window", '"expanding" or a number of rows')
        for field in ("n_init", "n_iter", "kmeans_n_init", "cold_every", "min_train"):
            if int(getattr(self, field)) < 1:
                raise bad(field, "an integer >= 1")
        for field in ("tol", "min_covar"):
            if not float(getattr(self, field)) > 0:
                raise bad(field, "a number > 0")
        for field in ("sticky", "cold_growth", "cold_surprise"):
            if not float(getattr(self, field)) >= 0:
                raise bad(field, "a number >= 0")

    @property
    def n_states(self) -> int:
        return len(self.names)

    def replace(self, **changes: Any) -> RegimeSpec:
        """A copy with ``changes`` (unknown names are a TypeError, as for the constructor)."""
        return dataclasses.replace(self, **changes)

    def estimator_params(self) -> dict[str, Any]:
        """``LiquidityHMM``'s constructor arguments (what one fit needs; the schedule is the walk-forward's)."""
        return {
            "names": self.names, "covariance_type": self.covariance_type, "n_init": int(self.n_init),
            "n_iter": int(self.n_iter), "tol": float(self.tol), "min_covar": float(self.min_covar),
            "sticky": float(self.sticky), "stress_signs": self.stress_signs, "random_state": int(self.seed),
            "kmeans_n_init": int(self.kmeans_n_init), "init": self.init, "order_by": self.order_by,
            "feature_names": self.feature_names, "emission": self.emission,
            "t_dof": self.t_dof if self.t_dof == "auto" else float(self.t_dof),
        }

    def cache_params(self) -> dict[str, Any]:
        """Every field, JSON-ready: the cache key covers the whole spec, so no setting can be left out of it."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


_MODEL: Any = None


def settings_model() -> Any:
    """RegimeSpec's fields as a strict pydantic model (the dataclass's own annotations and defaults): what
    ``RegimeSpec`` checks every value against, and what a test can walk field by field."""
    global _MODEL
    if _MODEL is None:
        hints = typing.get_type_hints(RegimeSpec, include_extras=True)
        fields = {f.name: (hints[f.name], f.default) for f in dataclasses.fields(RegimeSpec)}
        _MODEL = create_model("RegimeSpecSettings", __config__=STRICT, **fields)
    return _MODEL
