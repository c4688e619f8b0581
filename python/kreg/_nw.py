"""Nadaraya-Watson estimators for scikit-learn: NadarayaWatsonRegressor (here)
and NadarayaWatsonCV (_nw_cv.py), thin layers over kreg's C++ core (kreg._kreg).

Division of work: this module validates and converts inputs with
scikit-learn's own helpers (so its messages are scikit-learn's), chooses the
bandwidth, and keeps the fitted state that pickling needs (the training
arrays and the resolved parameters). The C++ model does the arithmetic; it is
built at fit (and again on unpickling) and never changes afterwards, so one
fitted estimator may predict from several threads at once.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _kreg
from ._functions import _n_jobs_value

__all__ = ["IsolatedQueriesWarning", "NadarayaWatsonRegressor"]

_RULES = ("scott", "silverman")


class IsolatedQueriesWarning(UserWarning):
    """Some queries had no training point inside a compact kernel's support
    (epanechnikov, tricube, uniform) and got the mean target of their nearest
    training point(s). ``count`` is how many (the CLI's "note: N of M
    queries ..."); a larger bandwidth or the gaussian kernel avoids it."""

    def __init__(self, message: str, count: int):
        super().__init__(message)
        self.count = count

    def __reduce__(self):
        return type(self), (str(self), self.count)


def _compute_dtype(dtype: Any, name: str) -> Any:
    """The `dtype` parameter as check_array's dtype argument.

    None keeps float32 and float64 input as it is (float32 stays float32) and
    converts everything else to float64; "float64"/"float32" (or the numpy
    types) convert to that type.
    """
    if dtype is None:
        return [np.float64, np.float32]
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(
            f"The 'dtype' parameter of {name} must be None, 'float64' or 'float32'. "
            f"Got {dtype!r} instead."
        )
    return resolved.type


def _n_jobs(n_jobs: Any, name: str) -> int:
    """joblib's n_jobs as kreg's (None: all cores), checked for any int."""
    return _n_jobs_value(n_jobs, f"The 'n_jobs' parameter of {name}")


def _str_param(value: Any, param: str, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f"The '{param}' parameter of {name} must be a str. Got {value!r} instead."
        )
    return value


def _build_model(X, Y, sample_weight, h, options: dict, n_jobs: int):
    """A fitted (immutable) C++ model: kreg._kreg.NadarayaWatson64 or 32."""
    cls = _kreg.NadarayaWatson32 if X.dtype == np.float32 else _kreg.NadarayaWatson64
    bandwidth = np.atleast_1d(np.asarray(h, dtype=np.float64)).tolist()
    return cls(
        X, Y, sample_weight, options["kernel"], bandwidth, options["engine"], n_jobs,
        device=options["device"],
    )


class _NadarayaWatsonBase(RegressorMixin, BaseEstimator):
    """Fitting, prediction, tags and pickling shared by both estimators."""

    # ------------------------------------------------------------ fit helpers

    def _validate_fit(self, X, y, sample_weight):
        """Validated, C-contiguous X (n x d), Y (n x k) and weights in the compute
        dtype, and y's ndim."""
        name = type(self).__name__
        X, y = validate_data(
            self,
            X,
            y,
            reset=True,
            dtype=_compute_dtype(self.dtype, name),
            order="C",
            multi_output=True,
            y_numeric=True,
        )
        dtype = X.dtype
        # 2-D from here on; predict gives 1-D back when y was 1-D.
        Y = np.ascontiguousarray(y.reshape(y.shape[0], -1), dtype=dtype)
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(
                _check_sample_weight(sample_weight, X, dtype=dtype, ensure_non_negative=True),
                dtype=dtype,
            )
        return X, Y, sample_weight, y.ndim

    def _fit_bandwidth(self, X, Y, sample_weight, y_ndim, h) -> None:
        """Builds the C++ model with bandwidth h, then stores the fitted state
        (nothing is stored when the build fails)."""
        name = type(self).__name__
        options = {
            "kernel": _str_param(self.kernel, "kernel", name),
            "engine": _str_param(self.engine, "engine", name),
            "device": _str_param(self.device, "device", name),
            "n_jobs": _n_jobs(self.n_jobs, name),
        }
        model = _build_model(X, Y, sample_weight, h, options, options["n_jobs"])
        self._fit_X, self._fit_Y, self._fit_sample_weight = X, Y, sample_weight
        self._fit_options = options
        self._y_ndim = y_ndim
        self._model = model
        self.engine_ = model.engine
        self.bandwidth_ = h
        self.n_outputs_ = Y.shape[1]

    def _build(self, n_jobs: int):
        """The C++ model of the fitted state, with n_jobs threads."""
        return _build_model(
            self._fit_X, self._fit_Y, self._fit_sample_weight, self.bandwidth_,
            self._fit_options, n_jobs,
        )

    # ---------------------------------------------------------------- predict

    def predict(self, X):
        """Predict the target of the rows of X.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Converted once to the fitted dtype (C-contiguous); a C-contiguous
            array of that dtype is passed to C++ as it is, without a copy.

        Returns
        -------
        y : ndarray of shape (n_queries,) or (n_queries, n_outputs)
            1-D when the model was fitted with a 1-D y. The dtype is the
            fitted dtype.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=self._fit_X.dtype.type, order="C")
        model = self._model
        n_jobs = _n_jobs(self.n_jobs, type(self).__name__)
        if n_jobs != self._fit_options["n_jobs"]:
            # n_jobs changed after fit: a temporary model with the new thread
            # count (O(n d) to build; the fitted state is left alone).
            model = self._build(n_jobs)
        pred, isolated = model.predict(X)
        if isolated > 0:
            h = self.bandwidth_
            shown = f"{h:.6g}" if np.ndim(h) == 0 else "the per-feature bandwidths"
            warnings.warn(
                IsolatedQueriesWarning(
                    f"{isolated} of {X.shape[0]} queries had no training point inside the "
                    f"{self._fit_options['kernel']} kernel's support at bandwidth {shown}; they "
                    f"got the mean target of their nearest training point(s). Use a larger "
                    f"bandwidth or kernel='gaussian' (the count is this warning's .count).",
                    int(isolated),
                ),
                stacklevel=2,
            )
        if self._y_ndim == 1:
            return pred.reshape(-1)
        return pred

    # ------------------------------------------------------------- protocols

    def score(self, X, y, sample_weight=None):
        """R^2 of ``predict(X)`` against y, as ``RegressorMixin.score``.

        Targets near the range of their float type would overflow
        scikit-learn's squared sums to inf and the score to NaN; R^2 does not
        depend on the scale, so there y and the predictions are first
        multiplied by one power of two (exact; ordinary targets are passed on
        unscaled)."""
        from sklearn.metrics import r2_score

        y_pred = self.predict(X)
        y_true = np.asarray(y)
        if y_true.dtype.kind == "f" and y_true.size and np.all(np.isfinite(y_true)):
            dtype = np.result_type(y_true, y_pred)
            largest = max(float(np.max(np.abs(y_true))), float(np.max(np.abs(y_pred))))
            if largest > 2.0 ** (np.finfo(dtype).maxexp // 2 - 12):
                exponent = -int(np.frexp(largest)[1])
                y_true = np.ldexp(y_true, exponent)
                y_pred = np.ldexp(y_pred, exponent)
        return r2_score(y_true, y_pred, sample_weight=sample_weight)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "_model")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    def __getstate__(self):
        # BaseEstimator may hand back the live __dict__: copy before editing.
        state = dict(super().__getstate__())
        state.pop("_model", None)  # a C++ object: rebuilt from the training data
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "_fit_X" in state:
            self._model = self._build(self._fit_options["n_jobs"])


def _resolve_bandwidth(bandwidth: Any, X: np.ndarray, name: str):
    """A fixed bandwidth: a float, or an ndarray with one value per feature."""
    if isinstance(bandwidth, str):
        if bandwidth not in _RULES:
            raise ValueError(
                f"The 'bandwidth' parameter of {name} must be a float > 0, 'scott', "
                f"'silverman', 'cv' or an array of floats > 0. Got {bandwidth!r} instead."
            )
        if X.shape[0] < 2:
            raise ValueError(
                f"bandwidth={bandwidth!r} needs at least 2 samples to estimate the spread; "
                f"got n_samples={X.shape[0]}."
            )
        return np.asarray(_kreg.rule_of_thumb_bandwidth(X, bandwidth), dtype=np.float64)
    if isinstance(bandwidth, numbers.Real) and not isinstance(bandwidth, (bool, np.bool_)):
        h = float(bandwidth)
        if not (np.isfinite(h) and h > 0):
            raise ValueError(
                f"The 'bandwidth' parameter of {name} must be a float > 0, 'scott', "
                f"'silverman', 'cv' or an array of floats > 0. Got {bandwidth!r} instead."
            )
        return h
    try:
        h = np.asarray(bandwidth, dtype=np.float64)
    except (TypeError, ValueError):
        h = None
    if h is None or h.ndim != 1 or h.size not in (1, X.shape[1]):
        raise ValueError(
            f"The 'bandwidth' parameter of {name} must be a float > 0, 'scott', 'silverman', "
            f"'cv' or an array of one float > 0 per feature ({X.shape[1]}). "
            f"Got {bandwidth!r} instead."
        )
    if not np.all(np.isfinite(h) & (h > 0)):
        raise ValueError(f"Every bandwidth must be finite and > 0. Got {bandwidth!r} instead.")
    return float(h[0]) if h.size == 1 else h.copy()


class NadarayaWatsonRegressor(_NadarayaWatsonBase):
    """Nadaraya-Watson kernel regression, computed by kreg's C++ engines.

    ``yhat(z) = sum_j w_j y_j / sum_j w_j`` with ``w_j = s_j k(||(z - x_j) / h||)``
    over the training points x_j (targets y_j, sample weights s_j). A drop-in
    replacement for the tutorial's ``VectorizedNadarayaWatsonRegressor``:
    the same predictions (to rounding), no n x m kernel matrix, all cores, and
    no NaN at tiny bandwidths (the weights are shifted by the nearest point's).

    Parameters
    ----------
    bandwidth : float, {"scott", "silverman", "cv"} or array-like of shape (n_features,), \
            default=1.0
        h > 0 for every feature, one value per feature, a rule of thumb
        computed from the training data (one value per feature: the rule's
        factor times each feature's standard deviation), or "cv": chosen by
        :class:`NadarayaWatsonCV`'s defaults (5-fold CV over 25 bandwidths
        around Silverman's rule), which also sets ``cv_results_``,
        ``best_score_`` and ``best_index_``.
    kernel : {"gaussian", "epanechnikov", "tricube", "uniform"}, default="gaussian"
        Compact kernels give a query with no training point inside the
        bandwidth the mean target of its nearest training point(s); predict
        then warns with :class:`kreg.IsolatedQueriesWarning` (a UserWarning
        whose ``count`` says how many, as ``kreg predict``'s note does).
    n_jobs : int, default=None
        Threads: None or -1 all cores (as scikit-learn's OpenMP-based
        estimators; kreg's results do not depend on the thread count), -2 all
        but one, k > 0 exactly k. 0 is an error.
    dtype : {"float64", "float32"} or None, default="float64"
        Precision of the stored data and the arithmetic. None keeps float32
        input float32 (and converts other input to float64). Predictions
        have this dtype.
    engine : {"auto", "cuda", "fused", "vectorized", "reference"}, default="auto"
        kreg's engine: "auto" (the fastest engine that supports the call:
        "cuda" where a CUDA device can run it, else "fused"), "cuda" (the
        CUDA engine), "fused" (tiled SIMD), "vectorized" (BLAS, the
        tutorial's formulation) or "reference" (long double loops).
    device : {"auto", "cpu", "cuda"} or "cuda:K", default="auto"
        Where to compute: "auto" (a CUDA device when kreg has the CUDA engine,
        a device is present and the engine supports the call; else the CPU),
        "cpu", "cuda" (CUDA device 0) or "cuda:K". Asking for CUDA where it
        cannot run raises ValueError saying why. ``engine_`` says what ran.

    Attributes
    ----------
    bandwidth_ : float or ndarray of shape (n_features,)
        The bandwidth used.
    engine_ : str
        The engine that predicts: ``engine``, or the one "auto" chose.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has feature names that are all strings.
    n_outputs_ : int
        Number of targets (columns of a 2-D y; 1 for a 1-D y).

    Notes
    -----
    Inputs that are C-contiguous float64 (or float32 with ``dtype="float32"``
    or ``dtype=None``) reach the C++ code without a copy; other dtypes and
    layouts are converted once. The fitted estimator keeps a reference to the
    (validated) training arrays, as KNeighborsRegressor does: they are what
    pickling saves. ``predict`` releases the GIL, may be called from several
    threads at once, and raises KeyboardInterrupt promptly on Ctrl-C.
    """

    def __init__(
        self,
        bandwidth=1.0,
        kernel="gaussian",
        *,
        n_jobs=None,
        dtype="float64",
        engine="auto",
        device="auto",
    ):
        self.bandwidth = bandwidth
        self.kernel = kernel
        self.n_jobs = n_jobs
        self.dtype = dtype
        self.engine = engine
        self.device = device

    def fit(self, X, y, sample_weight=None):
        """Store the training set (Nadaraya-Watson is a lazy learner).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights multiplying each training point's kernel
            weight (a weight of 2 counts the point twice).

        Returns
        -------
        self : object
        """
        X, Y, sample_weight, y_ndim = self._validate_fit(X, y, sample_weight)
        name = type(self).__name__
        if isinstance(self.bandwidth, str) and self.bandwidth == "cv":
            from ._nw_cv import NadarayaWatsonCV  # it builds on this module

            search = NadarayaWatsonCV(
                kernel=self.kernel, n_jobs=self.n_jobs, dtype=self.dtype, engine=self.engine,
                device=self.device,
            )
            result = search._search(X, Y, sample_weight, name)
            self.isolated_queries_ = result["isolated_queries"]
            self.cv_results_ = result["cv_results"]
            self.best_index_ = result["best_index"]
            self.best_score_ = result["best_score"]
            h = result["best_bandwidth"]
        else:
            h = _resolve_bandwidth(self.bandwidth, X, name)
        self._fit_bandwidth(X, Y, sample_weight, y_ndim, h)
        return self
