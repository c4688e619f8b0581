"""kreg.LogisticRegression (the model of `kreg infer` and `kreg cv --model
logreg`) as a scikit-learn classifier, and kreg.augment (`kreg augment`) for
numpy images. Thin layers over kreg's C++ core (kreg._kreg): this module
validates with scikit-learn's helpers and keeps the fitted state as numpy
arrays (so the estimator pickles), the C++ code fits and predicts."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _kreg
from ._functions import _n_jobs_value

__all__ = ["LogisticRegression", "augment"]

# Input dtypes passed to C++ as they are; anything else becomes float64.
_DTYPES = [np.float64, np.float32, np.uint8]


def _real(value, name: str, what: str, low: float, strict: bool) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and np.isfinite(value) and (value > low if strict else value >= low)
    if not ok:
        raise ValueError(
            f"The '{name}' parameter of {what} must be a float {'>' if strict else '>='} "
            f"{low:g}. Got {value!r} instead."
        )
    return float(value)


def _int(value, name: str, what: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(
            f"The '{name}' parameter of {what} must be an int >= {low}. Got {value!r} instead."
        )
    return int(value)


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression on kreg's C++ core (L-BFGS, L2 penalty).

    scikit-learn's ``LogisticRegression(solver="lbfgs")`` objective, fitted
    on standardised features (the scaling is folded back into ``coef_``), with
    the gradient computed on all cores; the fit is the same bits for any
    ``n_jobs``. The model of ``kreg infer`` and ``kreg cv --model logreg``.

    Parameters
    ----------
    C : float, default=1.0
        Inverse of the L2 strength, as scikit-learn's C (> 0).
    fit_intercept : bool, default=True
    max_iter : int, default=1000
        L-BFGS iterations at most. Stopping short warns (ConvergenceWarning).
    tol : float, default=1e-4
        Converged when max |gradient| of the objective <= tol.
    n_jobs : int, default=None
        Threads: None or -1 all cores, -2 all but one, k > 0 exactly k.
    verbose : int, default=0
        1 or more: one line per L-BFGS iteration on stderr.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (n_classes, n_features)
        One row per class, also for two classes (kreg fits the two-row
        softmax; scikit-learn's binary coef_ is the difference of its rows).
    intercept_ : ndarray of shape (n_classes,)
    n_iter_ : ndarray of shape (1,)
    n_features_in_, feature_names_in_
        As in scikit-learn.

    Notes
    -----
    uint8 (pixels), float32 and float64 C-contiguous input reaches C++
    without a copy. ``fit`` and ``predict`` release the GIL and raise
    KeyboardInterrupt on Ctrl-C.
    """

    def __init__(self, C=1.0, *, fit_intercept=True, max_iter=1000, tol=1e-4, n_jobs=None,
                 verbose=0):
        self.C = C
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, X, y):
        """Fit the model to X (n_samples, n_features) and class labels y."""
        name = type(self).__name__
        C = _real(self.C, "C", name, 0.0, strict=True)
        tol = _real(self.tol, "tol", name, 0.0, strict=False)
        max_iter = _int(self.max_iter, "max_iter", name, 1)
        n_jobs = _n_jobs_value(self.n_jobs, f"The 'n_jobs' parameter of {name}")
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ValueError(
                f"The 'fit_intercept' parameter of {name} must be a bool. "
                f"Got {self.fit_intercept!r} instead."
            )
        if not isinstance(self.verbose, numbers.Integral):
            raise ValueError(
                f"The 'verbose' parameter of {name} must be an int. Got {self.verbose!r} instead."
            )
        X, y = validate_data(self, X, y, reset=True, dtype=_DTYPES, order="C")
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"{name} needs samples of at least 2 classes; y has only one class: "
                f"{encoder.classes_[0]!r}."
            )
        codes = np.ascontiguousarray(encoder.transform(y), dtype=np.float64)
        r = _kreg.logistic_fit(X, codes, C, bool(self.fit_intercept), max_iter, tol, n_jobs,
                               name if self.verbose else "")
        if not r["converged"]:
            warnings.warn(
                f"{name} did not converge in {r['n_iter']} iterations: {r['stop']}",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.classes_ = encoder.classes_
        self.coef_ = np.asarray(r["coef"])
        self.intercept_ = np.asarray(r["intercept"], dtype=np.float64)
        self.n_iter_ = np.array([r["n_iter"]], dtype=np.int32)
        return self

    def decision_function(self, X):
        """Scores of each class; for two classes, the second's minus the first's
        (positive: classes_[1]), as scikit-learn's shape (n_samples,)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=_DTYPES, order="C")
        n_jobs = _n_jobs_value(self.n_jobs, f"The 'n_jobs' parameter of {type(self).__name__}")
        scores = _kreg.linear_decision(
            np.ascontiguousarray(self.coef_, dtype=np.float64), self.intercept_.tolist(),
            [float(i) for i in range(len(self.classes_))], X, n_jobs,
        )
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict_proba(self, X):
        """Softmax of the class scores; rows sum to 1."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            scores = np.column_stack([np.zeros_like(scores), scores])
        scores = scores - scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """The class of highest score (the first on ties, as numpy's argmax)."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.intp)]
        return self.classes_[np.argmax(scores, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags


def augment(images, *, copies=4, ops=("shift", "rotate", "scale", "noise"), seed=0,
            n_jobs=None, max_shift=2.0, max_rotate_deg=15.0, scale_range=0.1, noise_std=8.0,
            labels=None):
    """Augmented copies of grayscale images, as ``kreg augment`` writes them.

    Parameters
    ----------
    images : array-like of uint8, shape (n, height, width)
        Pixels 0..255 (``kreg.read_idx`` gives this shape for MNIST files).
    copies : int, default=4
        Augmented copies per image.
    ops : sequence of {"shift", "rotate", "scale", "noise"} or str
        The random transformations, applied in that order ("shift,rotate").
    seed : int, default=0
        Root seed: copy c of image i depends on (seed, i, c) only, never on
        n_jobs (the same bytes as ``kreg augment --seed``).
    n_jobs : int, default=None
        Threads: None or -1 all cores.
    max_shift, max_rotate_deg, scale_range, noise_std : float
        Shift of at most max_shift pixels, rotation of at most max_rotate_deg
        degrees, scaling in [1 - scale_range, 1 + scale_range] and Gaussian
        noise of that standard deviation (0..255 units).
    labels : array-like of shape (n,) or (n, k), default=None
        When given, returned repeated alongside the copies.

    Returns
    -------
    augmented : ndarray of uint8, shape (n * copies, height, width)
        Row i * copies + c is copy c of image i.
    labels : ndarray of shape (n * copies, ...)
        Only when ``labels`` was given.
    """
    what = "augment()"
    arr = np.asarray(images)
    if arr.ndim != 3:
        raise ValueError(
            f"{what} takes images of shape (n, height, width); got an array of shape "
            f"{arr.shape}. Reshape flat rows with images.reshape(n, height, width)."
        )
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.number) or arr.size and (
            not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 255
            or np.any(arr != np.round(arr))
        ):
            raise ValueError(
                f"{what} takes uint8 pixels (whole numbers 0..255); got dtype {arr.dtype} "
                f"with values outside that. Convert with images.astype(np.uint8) after "
                f"scaling to 0..255."
            )
        arr = arr.astype(np.uint8)
    n, height, width = arr.shape
    if isinstance(ops, str):
        ops_text = ops
    else:
        ops_text = ",".join(str(o) for o in ops)
    copies = _int(copies, "copies", what, 0)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not (
        0 <= seed < 2**64
    ):
        raise ValueError(f"The 'seed' parameter of {what} must be an int in [0, 2**64). "
                         f"Got {seed!r} instead.")
    n_jobs_ = _n_jobs_value(n_jobs, f"The 'n_jobs' parameter of {what}")
    flat = np.ascontiguousarray(arr.reshape(n, height * width))
    out = _kreg.augment_images(flat, height, width, ops_text, copies, int(seed), n_jobs_,
                               float(max_shift), float(max_rotate_deg), float(scale_range),
                               float(noise_std))
    if labels is None:
        return out
    lab = np.asarray(labels)
    if lab.shape[:1] != (n,):
        raise ValueError(
            f"{what}: labels has {lab.shape[0] if lab.ndim else 0} rows, images {n}; give one "
            f"label per image."
        )
    return out, np.repeat(lab, copies, axis=0)
