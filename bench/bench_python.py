"""kreg's Python package on the tutorial's workload, against the tutorial's own
Python code, in one script on one machine:

  1. Prediction: the tutorial's VectorizedNadarayaWatsonRegressor (numpy +
     scikit-learn) against kreg.NadarayaWatsonRegressor, h = 0.5, on
     generate_data(10000, 10) with np.random.seed(123) and the tutorial's
     80/20 split (m = 2000 queries, n = 8000 training points, d = 10). The
     Python overhead is the estimator's predict minus the bare extension
     call it makes (kreg._kreg...predict: nanobind + C++).
  2. Bandwidth search over the tutorial's 30 bandwidths logspace(-1, 3, 30):
     the tutorial's joblib grid (a fit + predict + r2_score per bandwidth in
     worker processes) against NadarayaWatsonCV scoring the same holdout split
     (the same 30 R^2 values, checked), 5-fold CV and leave-one-out, and
     scikit-learn's GridSearchCV over kreg's estimator. The tutorial's worker
     through kreg.parallel_map (threads) is shown beside joblib's processes.

Usage: .venv/bin/python bench/bench_python.py [--quick]   (prints markdown)
"""

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV

import kreg
from kreg import NadarayaWatsonCV, NadarayaWatsonRegressor


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tutorial import VectorizedNadarayaWatsonRegressor, generate_data  # noqa: E402


def timeit(fn, repeats, warmup=1):
    """(median, best) wall seconds of fn() over `repeats` runs after `warmup`."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def paired_difference(f, g, repeats, warmup=3):
    """Median over `repeats` back-to-back pairs of (time of f()) - (time of g()),
    the order within a pair alternating: the drift of a busy machine and any
    first-or-second bias cancel."""
    for _ in range(warmup):
        f()
        g()
    diffs = []
    for i in range(repeats):
        first, second = (f, g) if i % 2 == 0 else (g, f)
        t0 = time.perf_counter()
        first()
        t1 = time.perf_counter()
        second()
        t2 = time.perf_counter()
        d = (t1 - t0) - (t2 - t1)
        diffs.append(d if i % 2 == 0 else -d)
    return statistics.median(diffs)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    fast_repeats = 5 if args.quick else 40
    slow_repeats = 1 if args.quick else 3

    load_before = os.getloadavg()
    np.random.seed(123)
    X_train, y_train, X_test, y_test = generate_data(10000, 10)
    m, n = X_test.shape[0], X_train.shape[0]

    # ------------------------------------------------------------ 1. predict
    tutorial = VectorizedNadarayaWatsonRegressor(0.5).fit(X_train, y_train)
    t_tut, b_tut = timeit(lambda: tutorial.predict(X_test), max(3, fast_repeats // 4))
    r2_tut = r2_score(y_test, tutorial.predict(X_test))

    predict_rows = [("tutorial VectorizedNadarayaWatsonRegressor.predict (numpy, f64)", t_tut, b_tut, r2_tut)]
    overhead = {}
    for dtype in ("float64", "float32"):
        est = NadarayaWatsonRegressor(0.5, dtype=dtype).fit(X_train, y_train)
        Xq = X_test if dtype == "float64" else X_test.astype(np.float32)
        t_est, b_est = timeit(lambda: est.predict(Xq), fast_repeats)
        raw = est._model
        t_raw, b_raw = timeit(lambda: raw.predict(Xq), fast_repeats)
        one = Xq[:1]
        t_one, _ = timeit(lambda: est.predict(one), 2000, warmup=50)
        t_one_raw, _ = timeit(lambda: raw.predict(one), 2000, warmup=50)
        diff = paired_difference(lambda: est.predict(Xq), lambda: raw.predict(Xq), 5 * fast_repeats)
        r2 = r2_score(y_test, est.predict(Xq))
        predict_rows.append((f"kreg NadarayaWatsonRegressor.predict ({dtype})", t_est, b_est, r2))
        predict_rows.append((f"kreg extension call alone (_kreg ... predict, {dtype})", t_raw, b_raw, r2))
        overhead[dtype] = (diff, t_raw, t_one, t_one_raw)
    t_fit, _ = timeit(lambda: NadarayaWatsonRegressor(0.5).fit(X_train, y_train), fast_repeats)
    # The binding's own cost per call: a predict whose C++ work is negligible
    # (one query, a one-point model, one thread).
    tiny = kreg._kreg.NadarayaWatson64(
        X_train[:1], np.ascontiguousarray(y_train[:1, None]), None, "gaussian", [0.5], "auto", 1
    )
    t_tiny, _ = timeit(lambda: tiny.predict(X_test[:1]), 20000, warmup=100)

    print(f"## Python package: the tutorial workload (m = {m}, n = {n}, d = 10, h = 0.5)\n")
    print("| implementation | median (ms) | best (ms) | speed-up vs tutorial (median) | R^2 |")
    print("|---|---:|---:|---:|---:|")
    for name, t, b, r2 in predict_rows:
        print(f"| {name} | {1e3 * t:.2f} | {1e3 * b:.2f} | {t_tut / t:.1f}x | {r2:.10f} |")
    print()
    print(f"fit (validation + C++ copy/centring of 8000 x 10): {1e3 * t_fit:.3f} ms median\n")
    print(
        f"The binding's own cost per call (nanobind, GIL release, result array): "
        f"{1e6 * t_tiny:.1f} us (a 1-query predict on a 1-point model)\n"
    )
    for dtype, (diff, t_raw, one, one_raw) in overhead.items():
        print(
            f"Python overhead ({dtype}): estimator predict minus extension call = "
            f"{1e6 * diff:.0f} us on the 2000-query predict ({100 * diff / t_raw:.1f}% of the "
            f"call; median of back-to-back pairs); a 1-query predict takes {1e6 * one:.0f} us "
            f"through the estimator and {1e6 * one_raw:.0f} us through the extension alone "
            f"(scikit-learn's validation: {1e6 * (one - one_raw):.0f} us)"
        )
    print()

    # ------------------------------------------------------- 2. bandwidth search
    bandwidths = np.logspace(-1, 3, 30)

    def worker(bandwidth):
        model = VectorizedNadarayaWatsonRegressor(bandwidth=bandwidth).fit(X_train, y_train)
        return r2_score(y_test, model.predict(X_test))

    X_all = np.vstack([X_train, X_test])
    y_all = np.concatenate([y_train, y_test])
    holdout = [(np.arange(n), np.arange(n, n + m))]
    search_rows = []
    r2_grid = {}

    def joblib_grid(n_jobs):
        r2_grid[n_jobs] = Parallel(n_jobs=n_jobs)(delayed(worker)(b) for b in bandwidths)

    t, b = timeit(lambda: joblib_grid(-2), slow_repeats)
    t_ref = t
    search_rows.append(("tutorial: joblib `Parallel(n_jobs=-2)` (as written), 30 fits", t, b))
    t, b = timeit(lambda: joblib_grid(-1), slow_repeats)
    search_rows.append(("tutorial: joblib `Parallel(n_jobs=-1)`, 30 fits", t, b))
    t, b = timeit(lambda: [worker(h) for h in bandwidths], slow_repeats, warmup=0)
    search_rows.append(("tutorial worker, plain loop", t, b))
    t, b = timeit(lambda: kreg.parallel_map(worker, bandwidths, n_jobs=-1), slow_repeats)
    search_rows.append(("tutorial worker through `kreg.parallel_map(n_jobs=-1)` (threads)", t, b))

    holdout_search = NadarayaWatsonCV(bandwidths, cv=holdout)
    t_hold, b = timeit(lambda: holdout_search.fit(X_all, y_all), max(3, fast_repeats // 4))
    search_rows.append(("kreg `NadarayaWatsonCV(cv=[(train, test)])`: the same holdout grid", t_hold, b))
    ours = holdout_search.cv_results_["mean_test_score"]
    agree = max(abs(a - b) for a, b in zip(ours, r2_grid[-1]) if np.isfinite(b))
    Y_train = np.ascontiguousarray(y_train.reshape(-1, 1))
    Y_test = np.ascontiguousarray(y_test.reshape(-1, 1))
    t_raw, b = timeit(
        lambda: kreg._kreg.bandwidth_cv(
            X_train, Y_train, None, "gaussian", "holdout", False, 0, "r2", -1,
            bandwidths.tolist(), [], X_test, Y_test,
        ),
        max(3, fast_repeats // 4),
    )
    search_rows.append(("  the extension call alone (`_kreg.bandwidth_cv`, holdout)", t_raw, b))
    t, b = timeit(lambda: NadarayaWatsonCV(bandwidths, cv=5).fit(X_train, y_train), slow_repeats)
    search_rows.append(("kreg `NadarayaWatsonCV(cv=5)` (5-fold on the 8000 training points)", t, b))
    t, b = timeit(lambda: NadarayaWatsonCV(bandwidths, cv="loo").fit(X_train, y_train), slow_repeats)
    search_rows.append(("kreg `NadarayaWatsonCV(cv='loo')` (leave-one-out, 8000 points)", t, b))
    gs = GridSearchCV(NadarayaWatsonRegressor(), {"bandwidth": bandwidths}, cv=5)
    t, b = timeit(lambda: gs.fit(X_train, y_train), slow_repeats, warmup=0)
    search_rows.append(("scikit-learn `GridSearchCV(NadarayaWatsonRegressor(), cv=5)`: 150 fits", t, b))

    print("## Python package: bandwidth search over logspace(-1, 3, 30)\n")
    print("| implementation | median (s) | best (s) | speed-up vs tutorial (median) |")
    print("|---|---:|---:|---:|")
    for name, t, b in search_rows:
        print(f"| {name} | {t:.3f} | {b:.3f} | {t_ref / t:.1f}x |")
    print()
    print(
        f"holdout R^2 of kreg vs the tutorial's grid: max |difference| = {agree:.2e} "
        f"(best h = {holdout_search.best_bandwidth_:.4g}, R^2 = {holdout_search.best_score_:.6f}); "
        f"Python overhead of the holdout search: {1e3 * (t_hold - t_raw):.2f} ms "
        f"(the estimator's validation and cv_results_ over the bare call)"
    )
    print()
    load_after = os.getloadavg()
    print(
        f"Machine: {cpu_model()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
        f"numpy {np.__version__}, kreg {kreg.__version__}; load average {load_before[0]:.2f} "
        f"before, {load_after[0]:.2f} after. Command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}"
    )


if __name__ == "__main__":
    main()
