"""kreg's functions for numpy users: distances, the tutorial's data, the IDX
reader, rule-of-thumb bandwidths and a parallel map for Python callables.

Every function converts its array arguments once, to C-contiguous float64
(or float32 when every array argument already is float32), and hands them to
C++ without a further copy; results are numpy arrays that own kreg's buffers.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np

from . import _kreg

__all__ = [
    "generate_data",
    "pairwise_sq_distances",
    "parallel_map",
    "read_idx",
    "rule_of_thumb_bandwidth",
]

T = TypeVar("T")
R = TypeVar("R")

# The smallest C int: every n_jobs at or below it means one thread (joblib's
# rule for n_jobs < -cores), so huge negative values are passed on as this.
_INT_MIN = -(2**31)


def _n_jobs_value(n_jobs: Any, what: str) -> int:
    """n_jobs checked as kreg's C++ core checks it, for any Python int: None
    (all cores, -1), -1 all cores, -2 all but one, below -cores one thread,
    1..max_n_jobs exactly that many; `what` names the parameter in messages.

    Checked here so that an int beyond C's range (2**40) gets kreg's message
    as a ValueError rather than the binding's TypeError."""
    if n_jobs is None:
        return -1
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, numbers.Integral):
        raise ValueError(f"{what} must be an int or None. Got {n_jobs!r} instead.")
    n = int(n_jobs)
    limit = int(_kreg.max_n_jobs())
    if n == 0:
        raise ValueError(
            f"{what} must be -1 (all cores), -2 (all but one), k > 0 or None; 0 means "
            f"nothing. Got 0 instead."
        )
    if n > limit:
        raise ValueError(
            f"{what} is {n}, more threads than kreg starts (at most {limit}). Use -1 for "
            f"all cores, or a thread count from 1 to {limit}."
        )
    return max(n, _INT_MIN)


_blas_controller = None  # threadpoolctl's view of the BLAS libraries, made once


def _single_threaded_blas():
    """A context in which every BLAS library threadpoolctl finds in the process
    (numpy's and scipy's OpenBLAS or MKL, kreg's OpenBLAS) runs on one thread."""
    global _blas_controller
    if _blas_controller is None:
        from threadpoolctl import ThreadpoolController

        _blas_controller = ThreadpoolController()  # ~10 ms: inspects the loaded libraries
    return _blas_controller.limit(limits=1, user_api="blas")


def _float_arrays(*arrays: Any) -> list[np.ndarray]:
    """The arrays as C-contiguous 2-D float32 (when all are float32) or float64."""
    arrays_ = [np.asarray(a) for a in arrays]
    dtype = np.float32 if all(a.dtype == np.float32 for a in arrays_) else np.float64
    out = []
    for a in arrays_:
        if a.ndim != 2:
            raise ValueError(f"Expected a 2-D array, got an array of shape {a.shape} instead.")
        out.append(np.ascontiguousarray(a, dtype=dtype))
    return out


def pairwise_sq_distances(Z: Any, X: Any = None) -> np.ndarray:
    """Squared Euclidean distances between the rows of Z and of X.

    Parameters
    ----------
    Z : array-like of shape (m, d)
    X : array-like of shape (n, d), default=None
        None: Z itself.

    Returns
    -------
    D : ndarray of shape (m, n)
        ``D[i, j] = ||Z[i] - X[j]||^2``, float32 when both inputs are float32,
        else float64. Computed as norms plus one matrix product after
        centring both on X's mean, with pairs where that cancels recomputed
        from the differences, so identical rows give exactly 0 (unlike the
        plain norm trick of the tutorial's Exercise 4).
    """
    Z_, X_ = _float_arrays(Z, Z if X is None else X)
    if Z_.shape[1] != X_.shape[1]:
        raise ValueError(
            f"Z has {Z_.shape[1]} features but X has {X_.shape[1]}; they must match."
        )
    return _kreg.pairwise_sq_distances(Z_, X_)


def generate_data(
    n: int, d: int, seed: int = 0, *, return_coef: bool = False
) -> tuple[np.ndarray, ...]:
    """The tutorial's synthetic regression data, before its train/test split.

    The same numbers as::

        np.random.seed(seed)
        X = np.random.normal(size=(n, d))
        coef = np.random.normal(size=(d,))
        intercept = np.random.normal()
        y = X @ coef + intercept + np.random.normal(size=(n,))

    X bit for bit; y to rounding (numpy's ``X @ coef`` sums in BLAS's order).
    The tutorial then splits with
    ``train_test_split(X, y, test_size=0.2, random_state=42)``.

    Returns
    -------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
    coef : ndarray of shape (d,)
        Only with ``return_coef=True``, followed by
    intercept : float
    """
    for value, label in ((n, "n"), (d, "d")):
        if not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{label} must be an int >= 0, got {value!r}.")
    if not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an int in [0, 2**32), got {seed!r}.")
    X, y, coef, intercept = _kreg.generate_data(int(n), int(d), int(seed))
    if return_coef:
        return X, y, coef, intercept
    return X, y


def read_idx(path: str | os.PathLike, dtype: Any = None, *, flatten: bool = False) -> np.ndarray:
    """Read an IDX file (MNIST, Fashion-MNIST), gzip-compressed or not.

    Parameters
    ----------
    path : str or path-like
    dtype : {None, "uint8", "float32", "float64"}, default=None
        None: the file's type where numpy has it (ubyte files stay uint8,
        float files give float32), float64 for the other integer types.
        Values are not rescaled (uint8 255 reads as 255.0).
    flatten : bool, default=False
        False: the file's own shape, e.g. (10000, 28, 28) for images and
        (10000,) for labels. True: one row per item, (10000, 784), the shape
        scikit-learn estimators take. Either is a view of the same buffer.

    Returns
    -------
    ndarray
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path!r}")
    if dtype is None:
        name = "auto"
    else:
        name = np.dtype(dtype).name
        if name not in ("uint8", "float32", "float64"):
            raise ValueError(f"dtype must be None, uint8, float32 or float64; got {dtype!r}.")
    a = _kreg.read_idx(path, name)
    if flatten and a.ndim != 2:
        a = a.reshape(a.shape[0], -1)
    return a


def rule_of_thumb_bandwidth(X: Any, rule: str = "silverman") -> np.ndarray:
    """Per-feature rule-of-thumb bandwidths of the data X (n x d).

    ``scott``: ``sigma_f * n^(-1/(d+4))``; ``silverman``:
    ``sigma_f * (n (d+2) / 4)^(-1/(d+4))``, with sigma_f feature f's sample
    standard deviation (ddof=1), as implied by scipy.stats.gaussian_kde.
    """
    (X_,) = _float_arrays(X)
    return np.asarray(_kreg.rule_of_thumb_bandwidth(X_, rule), dtype=np.float64)


def parallel_map(
    func: Callable[[T], R],
    iterable: Iterable[T],
    *,
    n_jobs: int | None = None,
    batch_size: int | str = "auto",
) -> list[R]:
    """``[func(x) for x in iterable]`` on kreg's thread pool, results in input order.

    What it is for: functions that spend their time in code that releases
    the GIL (numpy on large arrays, kreg's own estimators, I/O). Each call
    takes the GIL to start and returns it when it ends, so pure-Python
    functions run one at a time and gain nothing: use joblib's processes for
    those. With the GIL-releasing kind there is no process start-up, no
    pickling of arguments and results, and shared memory for free.

    Compared with ``joblib.Parallel(n_jobs)(delayed(func)(x) for x in iterable)``:

    * threads, not processes (like joblib's ``prefer="threads"``);
    * ``n_jobs=None`` means all cores (joblib: one); -1 all cores, -2 all but
      one, k > 0 exactly k (at most 1024, or the core count where that is
      larger), 0 is an error; below -cores is one thread (joblib's rule).
      n_jobs=1 runs every call on the calling thread;
    * ``batch_size="auto"`` sizes batches so each takes about half a
      millisecond (joblib's auto batching, finer); an int is used as given;
    * results come back in input order, as a list;
    * the first exception (by time) is re-raised as it is (same type and
      traceback) with a note naming the input's index; no new batch starts
      after it, running ones finish;
    * Ctrl-C raises KeyboardInterrupt in the caller after the running batches
      finish; no new batch starts;
    * no oversubscription: while a loop with more than one thread runs, the
      BLAS libraries of the process (numpy's, scipy's, kreg's; found by
      threadpoolctl when parallel_map first needs them) run single-threaded,
      and their thread counts come back afterwards. The setting is
      process-wide, as BLAS's own is: other Python threads' BLAS calls are
      single-threaded meanwhile too.

    It cannot deadlock on the GIL: the calling thread waits without holding
    it, and a function may itself call kreg (including parallel_map).
    """
    if isinstance(batch_size, str):
        if batch_size != "auto":
            raise ValueError(f"batch_size must be 'auto' or an int >= 1, got {batch_size!r}.")
        batch = 0
    elif isinstance(batch_size, numbers.Integral) and batch_size >= 1:
        batch = int(batch_size)
    else:
        raise ValueError(f"batch_size must be 'auto' or an int >= 1, got {batch_size!r}.")
    n_jobs = _n_jobs_value(n_jobs, "n_jobs")
    if not callable(func):
        raise TypeError(f"func must be callable, got {func!r}.")
    items = list(iterable)
    if _kreg.resolve_n_jobs(n_jobs) > 1 and len(items) > 1:
        with _single_threaded_blas():
            return _kreg.parallel_map(func, items, n_jobs, batch)
    return _kreg.parallel_map(func, items, n_jobs, batch)
