"""NadarayaWatsonCV: Nadaraya-Watson regression with the bandwidth chosen by
kreg's one-pass cross-validation (the fitted state and predict are
_NadarayaWatsonBase's, in _nw.py)."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.model_selection import KFold, LeaveOneOut, check_cv
from sklearn.utils import check_random_state

from . import _kreg
from ._nw import IsolatedQueriesWarning, _n_jobs, _NadarayaWatsonBase, _str_param

__all__ = ["NadarayaWatsonCV"]

_SCORINGS = ("r2", "neg_mean_squared_error", "neg_mean_absolute_error")
_OPTIMIZERS = ("none", "scalar", "per-feature")


def _seed(random_state) -> int:
    """A 31-bit seed from an int, a RandomState or None (numpy's global one)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state) & 0xFFFFFFFF
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))

class NadarayaWatsonCV(_NadarayaWatsonBase):
    """Nadaraya-Watson regression with the bandwidth chosen by cross-validation.

    Replaces the tutorial's joblib grid (one fit and predict per bandwidth)
    and scikit-learn's ``GridSearchCV(NadarayaWatsonRegressor(), ...)`` with
    kreg's one-pass search: a pair's distance does not depend on the
    bandwidth, so the whole grid is scored in one pass over the training
    pairs per split, in about the time of one prediction on the training set.
    Then refits on all of X with the best bandwidth.

    Parameters
    ----------
    bandwidths : int or array-like of shape (n_bandwidths,), default=None
        The grid of (scalar) bandwidths to score. None: 25 values, log-spaced
        over 3 decades around Silverman's rule of thumb (the geometric mean
        of its per-feature values); an int: that many such values.
    kernel : {"gaussian", "epanechnikov", "tricube", "uniform"}, default="gaussian"
    cv : int, "loo", cross-validation splitter or iterable of splits, default=5
        An int k is ``KFold(k)`` without shuffling (scikit-learn's meaning of
        ``cv=k`` for regressors, and ``kreg tune --cv k``'s); with
        ``shuffle=True`` it is ``KFold(k, shuffle=True, random_state=random_state)``
        (``kreg tune --cv k --shuffle --seed S``). k-fold and leave-one-out run in kreg, all
        splits in one call: a KFold instance is followed exactly (with
        shuffle and an int random_state, the same folds as scikit-learn's;
        with shuffle and no int random_state, a seed is drawn from its
        RandomState or numpy's global one). "loo" (or LeaveOneOut())
        predicts every point from all the others and reports one split: the
        score of all those predictions together (scikit-learn's LeaveOneOut
        would score each single-sample split, where r2 is undefined). Any
        other splitter (ShuffleSplit, TimeSeriesSplit, a list of (train, test)
        index arrays, ...) is followed split by split, each split's whole
        grid in one pass; splitters that need ``groups`` take precomputed
        splits: ``cv=list(GroupKFold(5).split(X, y, groups))``.
    scoring : {"r2", "neg_mean_squared_error", "neg_mean_absolute_error"}, default="r2"
        Greater is better, as in scikit-learn. Multi-output scores average
        the outputs uniformly.
    n_jobs : int, default=None
        As in :class:`NadarayaWatsonRegressor` (None: all cores).
    dtype : {"float64", "float32"} or None, default="float64"
    engine : {"auto", "cuda", "fused", "vectorized", "reference"}, default="auto"
        The engine of the refitted model's predict; the search always uses
        an engine that scores many bandwidths in one pass.
    device : {"auto", "cpu", "cuda"} or "cuda:K", default="auto"
        Where the search and the refitted model compute, as in
        :class:`NadarayaWatsonRegressor`.
    shuffle : bool, default=False
        With an int ``cv``: shuffle the rows before cutting the folds.
        Other ``cv`` values carry their own shuffling (``KFold(k, shuffle=True)``);
        ``shuffle=True`` with them is an error.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle (``shuffle=True``) and of the per-feature
        optimiser's random starts (``starts > 1``); None draws one from
        numpy's global RandomState, as scikit-learn does.
    optimize : {"none", "scalar", "per-feature"}, default="none"
        Refine the grid's best bandwidth as ``kreg tune --optimize`` does:
        "scalar" runs Brent's method on log h between the best grid point's
        neighbours; "per-feature" searches one bandwidth per feature
        (Nelder-Mead on log h from Silverman's per-feature rule, ``starts``
        starting points). Every evaluation is a cross-validated score over
        the same splits. Needs an int ``cv``, a KFold or "loo".
    starts : int, default=1
        Starting points of the per-feature optimiser (R np's ``nmulti``).
    verbose : int, default=0
        0 is silent; 1 or more prints each phase's size, progress (at every
        tenth) and time on stderr.

    Attributes
    ----------
    cv_results_ : dict of ndarrays
        As GridSearchCV's: ``params``, ``param_bandwidth``,
        ``split{k}_test_score``, ``mean_test_score``, ``std_test_score``
        (ddof=0) and ``rank_test_score``, plus ``isolated_queries`` (queries
        that had no training point inside a compact kernel's support).
    best_bandwidth_ : float or ndarray of shape (n_features,)
        The grid's best, or with ``optimize`` the optimiser's answer (an
        array for "per-feature").
    best_score_ : float
        The cross-validated score of best_bandwidth_.
    best_index_ : int
        The index of the grid's best bandwidth in cv_results_ (with
        ``optimize``, the grid point the optimiser started from).
    best_params_ : dict
    optimum_ : dict or None
        With ``optimize``: ``bandwidth``, ``score``, ``evaluations``,
        ``converged``, ``message`` and ``at_upper`` (per feature: its
        bandwidth ran to the search's upper bound, so the feature does not
        help predict y); None without.
    isolated_queries_ : int
        Out-of-sample predictions at the best grid bandwidth that had no
        training point inside a compact kernel's support and got the mean
        target of their nearest training point(s) (always 0 for the
        gaussian kernel). When it is not 0, fit warns (UserWarning).
    bandwidth_ : float
        The same as best_bandwidth_: the refitted model's bandwidth.
    engine_ : str
        The engine of the refitted model's predict.
    n_splits_ : int
    n_features_in_, feature_names_in_, n_outputs_
        As in :class:`NadarayaWatsonRegressor`.
    """

    def __init__(
        self,
        bandwidths=None,
        *,
        kernel="gaussian",
        cv=5,
        scoring="r2",
        n_jobs=None,
        dtype="float64",
        engine="auto",
        device="auto",
        shuffle=False,
        random_state=None,
        optimize="none",
        starts=1,
        verbose=0,
    ):
        self.bandwidths = bandwidths
        self.kernel = kernel
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.dtype = dtype
        self.engine = engine
        self.device = device
        self.shuffle = shuffle
        self.random_state = random_state
        self.optimize = optimize
        self.starts = starts
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None):
        """Score every bandwidth by cross-validation, then refit with the best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the training points in every fit; the scores are
            unweighted (as cross_val_score's).

        Returns
        -------
        self : object
        """
        X, Y, sample_weight, y_ndim = self._validate_fit(X, y, sample_weight)
        result = self._search(X, Y, sample_weight, type(self).__name__)
        self.cv_results_ = result["cv_results"]
        self.best_index_ = result["best_index"]
        self.best_score_ = result["best_score"]
        self.best_bandwidth_ = result["best_bandwidth"]
        self.best_params_ = {"bandwidth": self.best_bandwidth_}
        self.n_splits_ = result["n_splits"]
        self.optimum_ = result["optimum"]
        self.isolated_queries_ = result["isolated_queries"]
        self._fit_bandwidth(X, Y, sample_weight, y_ndim, self.best_bandwidth_)
        return self

    # ----------------------------------------------------------------- search

    def _grid(self, X: np.ndarray, name: str) -> np.ndarray:
        b = self.bandwidths
        if b is None or (isinstance(b, numbers.Integral) and not isinstance(b, bool)):
            count = 25 if b is None else int(b)
            if count < 1:
                raise ValueError(
                    f"The 'bandwidths' parameter of {name} must be None, an int >= 1 or an "
                    f"array of floats > 0. Got {b!r} instead."
                )
            if X.shape[0] < 2:
                raise ValueError(
                    f"the default bandwidth grid needs at least 2 samples; got n_samples="
                    f"{X.shape[0]}."
                )
            rule = np.asarray(_kreg.rule_of_thumb_bandwidth(X, "silverman"))
            center = float(np.mean(np.log10(rule)))
            return np.logspace(center - 1.5, center + 1.5, count)
        try:
            grid = np.asarray(b, dtype=np.float64)
        except (TypeError, ValueError):
            grid = None
        if grid is None or grid.ndim != 1 or grid.size == 0:
            raise ValueError(
                f"The 'bandwidths' parameter of {name} must be None, an int >= 1 or a 1-D "
                f"array of floats > 0. Got {b!r} instead."
            )
        if not np.all(np.isfinite(grid) & (grid > 0)):
            raise ValueError(f"Every bandwidth must be finite and > 0. Got {b!r} instead.")
        return grid

    def _cv_spec(self, n_samples: int, name: str):
        """(kreg's cv text, shuffle, seed) for self.cv, or None for another splitter."""
        cv = self.cv
        if isinstance(cv, str):
            if cv != "loo":
                raise ValueError(
                    f"The 'cv' parameter of {name} must be an int >= 2, 'loo', a "
                    f"cross-validation splitter or an iterable of (train, test) splits. "
                    f"Got {cv!r} instead."
                )
            spec = ("loo", False, 0)
        elif type(cv) is LeaveOneOut:
            spec = ("loo", False, 0)
        elif type(cv) is KFold:
            seed = 0
            if cv.shuffle:
                if isinstance(cv.random_state, numbers.Integral):
                    seed = int(cv.random_state)
                else:
                    rng = cv.random_state
                    if not isinstance(rng, np.random.RandomState):
                        rng = np.random.mtrand._rand
                    seed = int(rng.randint(np.iinfo(np.int32).max))
            spec = (str(cv.n_splits), bool(cv.shuffle), seed)
        elif isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
            if cv < 2:
                raise ValueError(
                    f"The 'cv' parameter of {name} must be an int >= 2, 'loo', a "
                    f"cross-validation splitter or an iterable of (train, test) splits. "
                    f"Got {cv!r} instead."
                )
            if self.shuffle:
                spec = (str(int(cv)), True, _seed(self.random_state))
            else:
                spec = (str(int(cv)), False, 0)
        else:
            spec = None
        if self.shuffle is not False and self.shuffle is not True:
            raise ValueError(
                f"The 'shuffle' parameter of {name} must be a bool. Got {self.shuffle!r} instead."
            )
        if self.shuffle and not (
            isinstance(cv, numbers.Integral) and not isinstance(cv, bool)
        ):
            raise ValueError(
                f"shuffle=True applies to an int 'cv' only; {name} got cv={cv!r}, which "
                f"shuffles (or not) by itself: use cv=KFold(k, shuffle=True, random_state=...) "
                f"or shuffle=False."
            )
        if spec is None:
            return None
        if spec[0] == "loo":
            if n_samples < 2:
                raise ValueError(
                    f"Cannot have number of splits n_splits={n_samples} greater than the "
                    f"number of samples: n_samples={n_samples}. Leave-one-out needs at "
                    f"least 2 samples."
                )
        elif int(spec[0]) > n_samples:
            raise ValueError(
                f"Cannot have number of splits n_splits={spec[0]} greater than the number "
                f"of samples: n_samples={n_samples}."
            )
        return spec

    def _check_r2_defined(self, smallest: int, n_samples: int, folds, name: str) -> None:
        """Refuses, before any work, a search scored by r2 on a split of fewer
        than 2 test samples: scikit-learn scores such a split NaN (R^2 is
        undefined there), so every bandwidth's mean would be NaN and the
        "best" one arbitrary. kreg's C++ core refuses it the same way."""
        if self.scoring != "r2" or smallest >= 2:
            return
        if folds is not None:
            where = (
                f"cv={folds} folds of {n_samples} samples leave a fold of {smallest} sample"
            )
            fix = f"at most {n_samples // 2} folds"
        else:
            where = f"the 'cv' splitter of {name} gives a test set of {smallest} sample"
            fix = "test sets of at least 2 samples"
        raise ValueError(
            f"{where}; R^2 of fewer than 2 samples is undefined (scikit-learn scores it NaN, "
            f"with an UndefinedMetricWarning), so every bandwidth would score NaN and none "
            f"could be called best. Use {fix}, cv='loo' (kreg scores its R^2 over all the "
            f"out-of-sample predictions together) or scoring='neg_mean_squared_error'."
        )

    def _search(self, X, Y, sample_weight, name: str) -> dict:
        if self.scoring not in _SCORINGS:
            raise ValueError(
                f"The 'scoring' parameter of {name} must be a str among "
                f"{{'r2', 'neg_mean_squared_error', 'neg_mean_absolute_error'}}. "
                f"Got {self.scoring!r} instead."
            )
        kernel = _str_param(self.kernel, "kernel", name)
        n_jobs = _n_jobs(self.n_jobs, name)
        device = _str_param(self.device, "device", name)
        optimize = "none" if self.optimize is None else self.optimize
        if not isinstance(optimize, str) or optimize not in _OPTIMIZERS:
            raise ValueError(
                f"The 'optimize' parameter of {name} must be a str among "
                f"{{'none', 'scalar', 'per-feature'}} or None. Got {self.optimize!r} instead."
            )
        starts = self.starts
        if isinstance(starts, bool) or not isinstance(starts, numbers.Integral) or starts < 1:
            raise ValueError(
                f"The 'starts' parameter of {name} must be an int >= 1. Got {starts!r} instead."
            )
        verbose = self.verbose
        if not isinstance(verbose, numbers.Integral):  # bools are ints too
            raise ValueError(
                f"The 'verbose' parameter of {name} must be an int. Got {verbose!r} instead."
            )
        verbose_name = name if verbose else ""
        spec = self._cv_spec(X.shape[0], name)
        grid = self._grid(X, name)
        if optimize != "none" and spec is None:
            raise ValueError(
                f"optimize={optimize!r} needs one of kreg's own splits: cv as an int, a KFold "
                f"or 'loo'; {name} got cv={self.cv!r}, which is scored split by split."
            )
        optimize_seed = _seed(self.random_state) if optimize == "per-feature" else 0
        optimum = None
        if spec is not None:
            # kreg's own splits (k-fold, leave-one-out): one call.
            cv, shuffle, seed = spec
            if cv != "loo":
                # KFold's smallest fold holds n // k samples.
                self._check_r2_defined(X.shape[0] // int(cv), X.shape[0], int(cv), name)
            r = _kreg.bandwidth_cv(
                X, Y, sample_weight, kernel, cv, shuffle, seed, self.scoring, n_jobs,
                grid.tolist(), [], None, None, optimize, int(starts), optimize_seed,
                verbose_name, device=device,
            )
            n_predictions = X.shape[0]
            # kreg scores MSE and MAE as losses; scikit-learn's scorers negate them.
            sign = 1.0 if r["greater_is_better"] else -1.0
            splits = sign * np.asarray(r["split_scores"])
            mean = sign * np.asarray(r["mean"])
            std = np.asarray(r["std"])
            rank = np.asarray(r["rank"], dtype=np.int32)
            isolated = np.asarray(r["isolated"], dtype=np.int64)
            best = int(r["best"])
            if r["optimum"] is not None:
                optimum = dict(r["optimum"])
                optimum["score"] = sign * optimum["score"]
                h = np.asarray(optimum["bandwidth"], dtype=np.float64)
                optimum["bandwidth"] = float(h[0]) if optimize == "scalar" else h
                optimum["at_upper"] = np.asarray(optimum["at_upper"], dtype=bool)
        else:
            # Any other splitter: each split scored as a holdout, the whole grid
            # in one pass per split.
            splitter = check_cv(self.cv)
            y_split = Y[:, 0] if Y.shape[1] == 1 else Y
            splits = list(splitter.split(X, y_split))
            if splits:
                smallest = min(len(test) for _, test in splits)
                self._check_r2_defined(smallest, X.shape[0], None, name)
            columns, isolated = [], np.zeros(grid.size, dtype=np.int64)
            for train, test in splits:
                r = _kreg.bandwidth_cv(
                    np.ascontiguousarray(X[train]),
                    np.ascontiguousarray(Y[train]),
                    None if sample_weight is None else np.ascontiguousarray(sample_weight[train]),
                    kernel, "holdout", False, 0, self.scoring, n_jobs, grid.tolist(), [],
                    np.ascontiguousarray(X[test]),
                    np.ascontiguousarray(Y[test]),
                    "none", 1, 0, verbose_name, device=device,
                )
                sign = 1.0 if r["greater_is_better"] else -1.0
                columns.append(sign * np.asarray(r["split_scores"])[:, 0])
                isolated += np.asarray(r["isolated"], dtype=np.int64)
            if not columns:
                raise ValueError(f"The 'cv' splitter of {name} gave no splits.")
            n_predictions = sum(len(test) for _, test in splits)
            splits = np.column_stack(columns)
            mean = splits.mean(axis=1)
            std = splits.std(axis=1)
            # GridSearchCV's ranking: ties share the lowest rank; best is the first rank 1.
            rank = rankdata(-mean, method="min").astype(np.int32)
            best = int(np.argmin(rank))
        results: dict[str, Any] = {
            "params": [{"bandwidth": float(h)} for h in grid],
            "param_bandwidth": np.ma.MaskedArray(grid.copy(), mask=np.zeros(grid.size, bool)),
        }
        for s in range(splits.shape[1]):
            results[f"split{s}_test_score"] = splits[:, s].copy()
        results["mean_test_score"] = mean
        results["std_test_score"] = std
        results["rank_test_score"] = rank
        results["isolated_queries"] = isolated
        n_isolated = int(isolated[best])
        if n_isolated > 0:
            warnings.warn(
                IsolatedQueriesWarning(
                    f"{name}: {n_isolated} of {n_predictions} out-of-sample predictions at the "
                    f"best bandwidth {grid[best]:.6g} had no training point inside the {kernel} "
                    f"kernel's support and got the mean target of their nearest training "
                    f"point(s). Use larger bandwidths or kernel='gaussian'; the count is "
                    f"isolated_queries_ (cv_results_['isolated_queries'] per bandwidth).",
                    n_isolated,
                ),
                stacklevel=3,
            )
        return {
            "cv_results": results,
            "best_index": best,
            "best_score": float(mean[best]) if optimum is None else float(optimum["score"]),
            "best_bandwidth": float(grid[best]) if optimum is None else optimum["bandwidth"],
            "n_splits": int(splits.shape[1]),
            "optimum": optimum,
            "isolated_queries": n_isolated,
        }
