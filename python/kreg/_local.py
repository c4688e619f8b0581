"""KernelRegression: local-constant and local-linear kernel regression with
mixed data types, statsmodels' KernelReg and R's np as a scikit-learn
estimator, on kreg's C++ engine (kreg/kernel_regression.hpp).

    model = KernelRegression(reg_type="ll", var_type="cco").fit(X, y)  # cv_ls bandwidths
    model.predict(Z), model.gradient(Z), model.bootstrap(Z, n_boot=200)

Parameters follow statsmodels' names (reg_type, var_type, bw's "cv_ls" and
"aic" as `bandwidth`) so that code moving from KernelReg reads the same.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _kreg
from ._functions import _n_jobs_value
from ._nw import IsolatedQueriesWarning, _str_param

__all__ = ["KernelRegression", "RankDeficientQueriesWarning"]

_SELECT = ("cv_ls", "aic")


class RankDeficientQueriesWarning(UserWarning):
    """Some local-linear queries had a local design that could not identify
    every slope (a column constant among the weighted points, collinear
    neighbours); the fit is local-constant along those directions there.
    ``count`` is how many; a larger bandwidth avoids it."""

    def __init__(self, message: str, count: int):
        super().__init__(message)
        self.count = count

    def __reduce__(self):
        return type(self), (str(self), self.count)


def _choice(value: Any, param: str, choices: tuple, name: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"The '{param}' parameter of {name} must be one of {', '.join(map(repr, choices))}. "
            f"Got {value!r} instead."
        )
    return value


class KernelRegression(RegressorMixin, BaseEstimator):
    """Local-constant or local-linear kernel regression with mixed data types.

    Parameters
    ----------
    reg_type : {"ll", "lc"}, default="ll"
        Local-linear (statsmodels' default) or local-constant (Nadaraya-Watson).
    var_type : str or None, default=None
        One letter per column: "c" continuous, "o" ordered, "u" unordered (as
        statsmodels' ``var_type``); None: every column continuous. Discrete
        columns hold their levels as numbers.
    bandwidth : "cv_ls", "aic" or array-like, default="cv_ls"
        Select by leave-one-out least squares or Hurvich-Simonoff-Tsai's AIC,
        or give one value per column: h > 0 (continuous, fixed), a whole
        number of neighbours k (continuous, nearest-neighbour ``bwtype``), a
        lambda in [0, 1] (discrete; Aitchison-Aitken: [0, (c-1)/c]).
    kernel : {"gaussian", "epanechnikov", "tricube", "uniform"}, default="gaussian"
        The one-dimensional kernel of continuous columns (a product kernel).
    discrete_kernels : {"statsmodels", "li_racine"}, default="statsmodels"
        Wang-van Ryzin (ordered) and Aitchison-Aitken (unordered), as
        statsmodels; or Li and Racine's kernels, as R's np.
    bwtype : {"fixed", "generalized_nn", "adaptive_nn"}, default="fixed"
        np's bandwidth types: nearest-neighbour bandwidths are the distance
        to the k-th nearest training value, per query or per training point.
    n_jobs : int or None, default=None
        joblib's convention; None uses every core. Results do not depend on it.
    restarts : int, default=1
        Nelder-Mead runs after the first when selecting bandwidths (the first
        starts with statsmodels' 5% simplex; each further one with a wide
        simplex, from the start and then from the best point so far); the
        best result is kept. 0 is statsmodels' single run, faster but more
        often caught in a worse minimum.
    engine : str, default="auto"
        "auto": kreg's local engine on the CPU, which takes every column
        type, kernel and ``bwtype``. A Nadaraya-Watson engine by name
        ("fused", "cuda", ... as ``kreg.engines()`` lists): the fits are
        formed from that engine's weighted means of (y, x, x x^T, x y), for
        continuous columns, fixed bandwidths and the Gaussian kernel (else
        ValueError at fit, saying why); queries those means cannot resolve
        (a few points carrying the weight) are refitted by the local engine.
        AIC and the hat trace always run on the local engine.
    device : {"auto", "cpu", "cuda"} or "cuda:K", default="auto"
        "cuda" runs the fits on the CUDA engine as a named engine does;
        "auto" does so where a CUDA device is present and the call is one the
        engines take; "cpu" keeps the local engine (with engine "auto").

    Attributes
    ----------
    bandwidth_ : ndarray of shape (n_features,)
    criterion_ : float or None
        The selection criterion at ``bandwidth_`` (None for given bandwidths).
    n_evaluations_ : int
    """

    def __init__(
        self,
        reg_type: str = "ll",
        var_type: str | None = None,
        bandwidth: Any = "cv_ls",
        kernel: str = "gaussian",
        discrete_kernels: str = "statsmodels",
        bwtype: str = "fixed",
        n_jobs: int | None = None,
        restarts: int = 1,
        engine: str = "auto",
        device: str = "auto",
    ):
        self.reg_type = reg_type
        self.var_type = var_type
        self.bandwidth = bandwidth
        self.kernel = kernel
        self.discrete_kernels = discrete_kernels
        self.bwtype = bwtype
        self.n_jobs = n_jobs
        self.restarts = restarts
        self.engine = engine
        self.device = device

    # ----------------------------------------------------------------- fit

    def _options(self, n_features: int) -> dict:
        name = type(self).__name__
        var_type = self.var_type
        if var_type is None:
            var_type = "c" * n_features
        if not isinstance(var_type, str):
            raise ValueError(
                f"The 'var_type' parameter of {name} must be a str such as 'cco' or None. "
                f"Got {var_type!r} instead."
            )
        if len(var_type) != n_features:
            raise ValueError(
                f"var_type {var_type!r} has {len(var_type)} letters but X has {n_features} "
                "columns; give one letter (c, o or u) per column"
            )
        return {
            "reg": _choice(self.reg_type, "reg_type", ("ll", "lc"), name),
            "var_type": var_type,
            "kernel": _choice(
                self.kernel, "kernel", ("gaussian", "epanechnikov", "tricube", "uniform"), name
            ),
            "discrete": _choice(
                self.discrete_kernels, "discrete_kernels", ("statsmodels", "li_racine"), name
            ),
            "bwtype": _choice(
                self.bwtype, "bwtype", ("fixed", "generalized_nn", "adaptive_nn"), name
            ),
            "n_jobs": _n_jobs_value(self.n_jobs, f"The 'n_jobs' parameter of {name}"),
            "engine": _str_param(self.engine, "engine", name),
            "device": _str_param(self.device, "device", name),
        }

    def fit(self, X, y):
        """Selects the bandwidths (unless given) and keeps the training set."""
        name = type(self).__name__
        X, y = validate_data(self, X, y, reset=True, dtype=np.float64, order="C", y_numeric=True)
        y = np.ascontiguousarray(y, dtype=np.float64)
        if X.shape[0] < 2:
            raise ValueError(f"{name} needs at least 2 samples; got n_samples={X.shape[0]}")
        options = self._options(X.shape[1])
        if not isinstance(self.restarts, numbers.Integral) or self.restarts < 0:
            raise ValueError(
                f"The 'restarts' parameter of {name} must be an int >= 0. "
                f"Got {self.restarts!r} instead."
            )
        if isinstance(self.bandwidth, str):
            _choice(self.bandwidth, "bandwidth", _SELECT, name)
            result = _kreg.kernel_regression_select(
                X, y, options["reg"], options["var_type"], options["kernel"],
                options["discrete"], options["bwtype"], options["n_jobs"], self.bandwidth,
                [], int(self.restarts), 1000, engine=options["engine"], device=options["device"],
            )
            bandwidth = np.asarray(result["bandwidth"], dtype=np.float64)
            self.criterion_ = float(result["objective"])
            self.n_evaluations_ = int(result["evaluations"])
        else:
            bandwidth = np.atleast_1d(np.asarray(self.bandwidth, dtype=np.float64))
            if bandwidth.ndim != 1 or bandwidth.shape[0] not in (1, X.shape[1]):
                raise ValueError(
                    f"bandwidth has shape {np.shape(self.bandwidth)}; give 'cv_ls', 'aic', one "
                    f"value, or one per column ({X.shape[1]})"
                )
            bandwidth = np.broadcast_to(bandwidth, (X.shape[1],)).copy()
            # Checks the bandwidths against the data now, not at predict.
            self._check_bandwidth(X, y, options, bandwidth)
            self.criterion_ = None
            self.n_evaluations_ = 0
        self._fit_X, self._fit_y, self._fit_options = X, y, options
        self.bandwidth_ = bandwidth
        return self

    @staticmethod
    def _check_bandwidth(X, y, options, bandwidth) -> None:
        _kreg.kernel_regression_predict(
            X, y, X[:0], options["reg"], options["var_type"], options["kernel"],
            options["discrete"], options["bwtype"], bandwidth.tolist(), 1, False,
            engine=options["engine"], device=options["device"],
        )

    # ------------------------------------------------------------- predict

    def _call(self, X, gradients: bool, loo: bool = False) -> dict:
        check_is_fitted(self)
        o = self._fit_options
        Z = None
        if not loo:
            Z = validate_data(self, X, reset=False, dtype=np.float64, order="C")
        out = _kreg.kernel_regression_predict(
            self._fit_X, self._fit_y, Z, o["reg"], o["var_type"], o["kernel"], o["discrete"],
            o["bwtype"], self.bandwidth_.tolist(), o["n_jobs"], gradients,
            engine=o["engine"], device=o["device"],
        )
        m = out["mean"].shape[0]
        if out["isolated"]:
            warnings.warn(
                IsolatedQueriesWarning(
                    f"{out['isolated']} of {m} queries had no training point with a non-zero "
                    "weight and got the mean target of their nearest training point(s); a "
                    "larger bandwidth (or the gaussian kernel) avoids it",
                    out["isolated"],
                ),
                stacklevel=3,
            )
        if out["rank_deficient"]:
            warnings.warn(
                RankDeficientQueriesWarning(
                    f"{out['rank_deficient']} of {m} local-linear queries could not identify "
                    "every slope and are local-constant along those directions; a larger "
                    "bandwidth avoids it",
                    out["rank_deficient"],
                ),
                stacklevel=3,
            )
        return out

    def predict(self, X) -> np.ndarray:
        """The fit m(z) at each row of X."""
        return self._call(X, False)["mean"]

    def gradient(self, X) -> np.ndarray:
        """The gradient (statsmodels' marginal effects) at each row of X, shape
        (n_queries, n_features): ll's local slopes; lc's derivative for
        continuous columns and, for discrete ones, m(z) minus m(z with the
        column at its lowest level) (np's convention)."""
        return self._call(X, True)["gradient"]

    def loo_predict(self) -> np.ndarray:
        """Leave-one-out fits at the training points, m_{-i}(x_i)."""
        return self._call(None, False, loo=True)["mean"]

    def criteria(self) -> dict:
        """cv_ls, aic and the hat matrix's trace at ``bandwidth_``."""
        check_is_fitted(self)
        o = self._fit_options
        return _kreg.kernel_regression_criteria(
            self._fit_X, self._fit_y, o["reg"], o["var_type"], o["kernel"], o["discrete"],
            o["bwtype"], self.bandwidth_.tolist(), o["n_jobs"],
            engine=o["engine"], device=o["device"],
        )

    def bootstrap(self, X, n_boot: int = 200, random_state: int = 0, gradients: bool = False):
        """Pairs-bootstrap standard errors of the fit (and gradients) at X,
        at ``bandwidth_``: {"mean_se", "gradient_se", "replicates"}. The same
        random_state gives the same bits for any n_jobs."""
        check_is_fitted(self)
        Z = validate_data(self, X, reset=False, dtype=np.float64, order="C")
        if not isinstance(random_state, numbers.Integral) or random_state < 0:
            raise ValueError(f"random_state must be an int >= 0. Got {random_state!r} instead.")
        if not isinstance(n_boot, numbers.Integral) or n_boot < 2:
            raise ValueError(f"n_boot must be an int >= 2. Got {n_boot!r} instead.")
        o = self._fit_options
        return _kreg.kernel_regression_bootstrap(
            self._fit_X, self._fit_y, Z, o["reg"], o["var_type"], o["kernel"], o["discrete"],
            o["bwtype"], self.bandwidth_.tolist(), o["n_jobs"], int(n_boot), int(random_state),
            bool(gradients), engine=o["engine"], device=o["device"],
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
