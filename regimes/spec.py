"""The regime model's settings, each declared once: its type, its default and its bounds live here and nowhere else.

``RegimeSettings`` is what a user writes under ``[regimes]`` (the run's config, ``backtests/config.py``, composes
it and adds only ``history_start``, which is about the run's data, not the model). ``RegimeSpec`` is those
settings plus what a run knows when it fits (the features' stress signs and names, the seed): the estimator
(``LiquidityHMM.from_spec``), both walk-forwards, state selection and the cache key all take it. A setting added
here reaches every one of them, so they cannot drift apart (they did: three ``init`` defaults, a ``cold_surprise``
no config could set, a rolling ``window`` of 5 rows the config refused but the spec took).

Every check is a pydantic constraint or validator (strict types: core/strict.py); ``RegimeSpec`` reports a bad
value as one ``ConfigError`` naming ``regimes.<field>``, the config as one line naming the config's field path.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import Field, ValidationError, field_validator

from regimeshift.core.constants import CASH
from regimeshift.core.errors import ConfigError
from regimeshift.core.strict import Array, StrictSettings

DEFAULT_NAMES: tuple[str, ...] = ("abundant", "tightening", "crunch")

# The words a setting takes, each spelled once (a new emission or model family is one word added here).
Schedule = Literal["monthly", "quarterly", "semiannual", "yearly"]
Init = Literal["kmeans", "hmmlearn", "mixed", "local"]
#: the cold starts that draw nothing from the model seed (regimes/local_start.py): a seed check agrees by construction
SEED_FREE_INITS: tuple[str, ...] = ("local",)
CovarianceType = Literal["full", "diag"]
Model = Literal["hmm", "jump", "gmmhmm"]
Emission = Literal["auto", "gaussian", "student_t"]
# emission "auto": the diagnostics count a choice of the t as clear when its held-out gain over the Gaussian is
# this many standard errors (regimes/cold_fit.py t_evidence; one-sided 2.5 %); the choice itself is the better
# held-out likelihood
T_EVIDENCE = 1.96
PenaltyCV = Literal["window", "walk"]
SCHEDULES: tuple[str, ...] = get_args(Schedule)
INITS: tuple[str, ...] = get_args(Init)
COVARIANCE_TYPES: tuple[str, ...] = get_args(CovarianceType)
MODELS: tuple[str, ...] = get_args(Model)
EMISSIONS: tuple[str, ...] = get_args(Emission)
PENALTY_CVS: tuple[str, ...] = get_args(PenaltyCV)
#: the shortest rolling window, and the shortest history before the first fit: fewer rows cannot estimate a
#: state's covariance (and a one-month window would fit noise)
MIN_ROWS = 60


class RegimeSettings(StrictSettings):
    """Every regime setting a config can write (``[regimes]``), with its one default and its bounds.

    Estimator: ``names`` (calm -> stressed; the number of states), ``covariance_type``, ``n_init`` seeded cold
    starts, ``n_iter``/``tol`` for EM, ``min_covar``, ``sticky`` (heavy-diagonal transition prior), ``init``,
    ``kmeans_n_init``, ``order_by``, ``emission``/``t_dof``.

    Walk-forward: the first fit after ``min_train_days`` usable rows, then on ``refit`` ("monthly", "quarterly",
    "semiannual" (January and July), "yearly" or every N rows) over an ``"expanding"`` or rolling (N rows)
    ``window``; warm starts from the previous fit compete with ``n_init`` cold starts at the first refit, every
    ``cold_every``-th refit, when the window has grown by ``cold_growth`` since the last competition, and after a
    period in which more than ``cold_surprise`` of the days lay outside every state's 99.9 % ellipsoid.
    """

    names: Array[str] = DEFAULT_NAMES
    covariance_type: CovarianceType = "full"
    # starts of a cold fit: each is screened by a short EM run and the best are run to convergence
    # (regimes/cold_fit.py); with hmmlearn's seeded start ten made the fits agree more often across seeds than
    # three did; the local start (the default init) does not use the seed at all
    n_init: int = Field(strict=True, default=10, ge=1)
    n_iter: int = Field(strict=True, default=200, ge=5)
    tol: float = Field(strict=True, default=1e-3, gt=0)
    min_covar: float = Field(strict=True, default=1e-3, gt=0)
    # pseudo-counts added to each state's stay in the transition matrix's Dirichlet prior (1 + sticky on the
    # diagonal, regimes/model.py): regimes persist, and without it a short window's best likelihood often spent a
    # state on a few days' flicker. Measured on twelve markets under the plain config (README, "sticky"): 0 -> 30
    # cut the mean gap to the true-parameter filter from 5.0 to 4.1 points (eleven markets better or level, the
    # twelfth an early-window coin flip), 10-50 all helped, 75 began to lose (a fat-tailed crunch -3.8 points).
    # With twenty years of data the prior is a few % of each row's counts; the shipped configs moved <= 0.0006
    # Sharpe. The other model families do not read it (HMM_ONLY).
    sticky: float = Field(strict=True, default=30.0, ge=0)
    min_train_days: int = Field(strict=True, default=756, ge=MIN_ROWS)
    refit: Schedule | Annotated[int, Field(strict=True)] = "monthly"
    window: Literal["expanding"] | Annotated[int, Field(strict=True)] = "expanding"  # or a rolling window of N rows
    warm_start: bool = Field(strict=True, default=True)
    # n_init seeded cold starts compete with the warm start (best likelihood wins) at the first refit, every
    # cold_every-th refit and whenever the training window has grown by cold_growth (a share) since the last time
    cold_every: int = Field(strict=True, default=12, ge=1)
    cold_growth: float = Field(strict=True, default=0.1, ge=0)
    # k-means initialisations per cold start (hmmlearn uses 10; 1 is ~10x cheaper and restarts differ more)
    kmeans_n_init: int = Field(strict=True, default=1, ge=1)
    # cold starts: "local" (k-means on each day's local mean and co-moments, then each cluster's own mean,
    # covariance and transitions: regimes/local_start.py; the same answer at every seed on every market measured),
    # "hmmlearn" (k-means on the days themselves, pooled covariance, random transitions: the default before
    # issue 24, whose answer moved with the seed), "kmeans" (k-means centres, per-cluster covariances,
    # label-count transitions) or "mixed" (alternating "kmeans" and "hmmlearn" across restarts)
    init: Init = "local"
    # share of days between two refits lying outside every state's 99.9 % ellipsoid that makes cold starts
    # compete at the next refit (a regime the model has no state for yet); 0 turns it off
    cold_surprise: float = Field(default=0.1, ge=0)
    # How states are named calm -> stressed (regimes/naming.py): "risk" (each state's risk: the one-sigma loss of
    # an equal-weighted portfolio of the return features plus the stress-signed means of the other features),
    # "signed_mean" (the stress-signed means of all features, the rule before issue 11) or a feature's spec text
    # (that feature alone), to pin the names to one observable. Normalised against the features by
    # ``naming.check_order_by`` (the one place).
    order_by: str = "risk"
    # The HMM's emission densities: "gaussian", "student_t" with t_dof degrees of freedom ("auto": one shared by
    # the states, estimated in each fit; "per_state": each state's own, estimated, so a Gaussian calm and a
    # fat-tailed crunch both fit; a number pins it), or "auto": at each cold fit the family with the better held-out
    # likelihood on the last part of the training window (regimes/cold_fit.py; its t has a dof per state),
    # recorded per refit. "auto" is the default (issue 24): where a regime's tails are fat the Gaussian labels
    # 13-18 points worse, elsewhere the two are within 1.5-2.3 points, at 5-8x the Gaussian's fitting time. The
    # shipped HMM configs write "gaussian" (README, "emission = auto is the default": measured both ways on each).
    emission: Emission = "auto"
    t_dof: Literal["auto", "per_state"] | Annotated[float, Field(gt=2)] = "auto"

    # -- model family (regimes/generic_walk.py; issue 14) --------------------------------------------------------
    # "hmm": the Gaussian HMM above; "jump": a statistical jump model (jumpmodels, regimes/jump.py); "gmmhmm":
    # an HMM with n_mix Gaussian components per state (regimes/gmmhmm.py). Same refit schedule and window.
    model: Model = "hmm"
    # jump model: the penalty on each state change (standardised features), or "cv": chosen at each cold refit by
    # time-series cross-validation on the training window (the 0/1 strategy's validation Sharpe) over penalty_grid
    jump_penalty: float | Literal["cv"] = Field(default=50.0)
    jump_continuous: bool = False  # continuous jump model: probabilities on a simplex grid
    max_feats: float | None = Field(default=None, gt=0)  # sparse jump model with this effective number of features
    penalty_grid: Array[float] = (0.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0)
    # how "cv" chooses: "window" (folds of each training window, at the cold refits) or "walk" (Shu, Yu & Mulvey
    # 2024: each candidate penalty runs its own walk-forward; on the first day of every month the penalty whose
    # online 0/1 signal had the best Sharpe, net of 10 bp and with the one-day delay, over the last
    # cv_validation_days rows is used for that month; 2016 rows = the paper's 8 years)
    penalty_cv: PenaltyCV = "window"
    cv_validation_days: int = Field(default=2016, ge=21)
    n_mix: int = Field(default=2, ge=1)  # gmmhmm: Gaussian components per state
    # Signal smoothing, any model (regimes/smoothing.py): the regime probabilities averaged over the last
    # smooth_days days (1 = none), or "cv": on the first day of every month the k in smooth_grid whose 0/1 signal
    # had the best Sharpe (10 bp, one-day delay) over the last cv_validation_days days (Shu, Yu & Mulvey 2024's
    # smoothed HMM benchmark). Forward-only: a smoothed row at t averages rows up to t.
    smooth_days: Annotated[int, Field(ge=1)] | Literal["cv"] = 1
    smooth_grid: Array[Annotated[int, Field(ge=1)]] = Field(default=(1, 2, 3, 5, 8, 13, 21), min_length=1)

    @field_validator("jump_penalty")
    @classmethod
    def _penalty_non_negative(cls, v: Any) -> Any:
        if isinstance(v, float) and v < 0:
            raise ValueError("a jump penalty must be >= 0 (or \"cv\")")
        return v

    @field_validator("names")
    @classmethod
    def _names_unique(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(v) < 2 or len(set(v)) != len(v):
            raise ValueError("needs at least two distinct regime names")
        if CASH in v:
            raise ValueError(f"'{CASH}' is reserved")
        return v

    @field_validator("refit")
    @classmethod
    def _refit_positive(cls, v: Any) -> Any:
        if isinstance(v, int) and v < 1:
            raise ValueError("refit every N days needs N >= 1")
        return v

    @field_validator("window")
    @classmethod
    def _window_long_enough(cls, v: Any) -> Any:
        if isinstance(v, int) and v < MIN_ROWS:
            raise ValueError(f"a rolling window needs at least {MIN_ROWS} rows")
        return v

    @property
    def n_states(self) -> int:
        return len(self.names)

    def model_options(self) -> dict[str, Any]:
        """The settings of the non-HMM model families and of the smoothing (the generic walk-forward's own)."""
        return {name: getattr(self, name) for name in MODEL_OPTIONS}


#: the settings ``model_options`` returns
MODEL_OPTIONS = ("jump_penalty", "jump_continuous", "max_feats", "penalty_grid", "n_mix", "penalty_cv",
                 "cv_validation_days", "smooth_days", "smooth_grid")
#: the settings only the HMM reads (its emission family, its cold start): nothing to the other families (not in
#: their digests)
HMM_ONLY = ("emission", "t_dof", "init", "sticky")


def default(name: str) -> Any:
    """The one declared default of regime setting ``name`` (for an estimator's keyword defaults, which
    scikit-learn wants written in its signature)."""
    fields = RegimeSpec.model_fields
    return fields[name].get_default(call_default_factory=True)


class RegimeSpec(RegimeSettings):
    """The settings plus what a fit knows of its run: ``stress_signs`` (per feature: +1 higher means more stress,
    -1 lower means more stress, 0 ignore), ``feature_names`` (which are returns, which levels) and ``seed``.

    ``min_train`` is ``min_train_days`` (the walk-forward's word for it; either name is accepted when building or
    replacing). A bad value raises one ``ConfigError`` naming ``regimes.<field>``.
    """

    stress_signs: Array[float] | None = None
    feature_names: Array[str] | None = None
    seed: int = 0

    def __init__(self, **data: Any) -> None:
        if "min_train" in data:
            data["min_train_days"] = data.pop("min_train")
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise ConfigError(_one_line(err, data)) from None

    @property
    def min_train(self) -> int:
        return self.min_train_days

    def replace(self, **changes: Any) -> RegimeSpec:
        """A copy with ``changes``, checked again (an unknown name is a TypeError, as for a function's keyword)."""
        if "min_train" in changes:
            changes["min_train_days"] = changes.pop("min_train")
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise TypeError(f"RegimeSpec has no setting {', '.join(sorted(unknown))}")
        return type(self)(**{**self.model_dump(), **changes})

    def estimator_params(self) -> dict[str, Any]:
        """``LiquidityHMM``'s constructor arguments (what one fit needs; the schedule is the walk-forward's)."""
        return {
            "names": self.names, "covariance_type": self.covariance_type, "n_init": self.n_init,
            "n_iter": self.n_iter, "tol": self.tol, "min_covar": self.min_covar, "sticky": self.sticky,
            "stress_signs": self.stress_signs, "random_state": self.seed, "kmeans_n_init": self.kmeans_n_init,
            "init": self.init, "order_by": self.order_by, "feature_names": self.feature_names,
            "emission": self.emission, "t_dof": self.t_dof,
        }

    def cache_params(self) -> dict[str, Any]:
        """Every field, JSON-ready: the cache key covers the whole spec, so no setting can be left out of it.
        ``min_train_days`` is keyed as ``min_train``, the name it had when the cache's keys were first written."""
        params = self.model_dump()
        params["min_train"] = params.pop("min_train_days")
        return params


def _one_line(err: ValidationError, given: dict[str, Any]) -> str:
    first = err.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "(spec)"
    # a word-or-number field fails each alternative: say them all
    wanted = dict.fromkeys(
        e["msg"].removeprefix("Input should be ")
        for e in err.errors() if (str(e["loc"][0]) if e["loc"] else "(spec)") == field
    )
    if first["type"] == "value_error":  # a check of ours: its message says what was expected
        return f"regimes.{field}: {given.get(field)!r} ({first['msg'].removeprefix('Value error, ')})"
    return f"regimes.{field}: {given.get(field)!r} (expected {' or '.join(wanted)})"


def settings_model() -> type[RegimeSpec]:
    """The pydantic model every spec value is checked against (``RegimeSpec`` itself): what a test walks field by
    field."""
    return RegimeSpec
