"""kreg's bandwidth selection side by side with what a tutorial user would run
instead, in one run on one machine:

  1. The tutorial's grid search (section 4.2): 30 bandwidths logspace(-1, 3),
     each a VectorizedNadarayaWatsonRegressor fit + predict + r2_score, run by
     joblib's Parallel(n_jobs=-1) (and n_jobs=-2, as the tutorial wrote it),
     on generate_data(10000, 10) with np.random.seed(123), test_size 0.2:
     first as the notebook cell runs (joblib starts its workers), then the
     median of 3 more runs with the workers already started ("warm").
     kreg: `kreg tune --cv holdout` on the same CSV files (wall time of the
     whole command: reading, the grid, writing), and the library call alone
     (bench_select). Also leave-one-out over the same 30 bandwidths.
  2. Per-feature least-squares cross-validation (cv_ls): statsmodels'
     KernelReg(reg_type='lc', bw='cv_ls') against `kreg tune --cv loo
     --optimize per-feature --scoring mse`, n = 1000 and 5000, d = 2,
     y = sin(x1 + x2) + 0.3 noise. Both bandwidths are scored by the same
     numpy leave-one-out objective.

Usage: python bench/peers_select.py BUILD_DIR [--skip-5000]   (prints markdown)
"""
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import r2_score


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tutorial import VectorizedNadarayaWatsonRegressor, generate_data  # noqa: E402


def write_csv(path, X, y):
    header = ",".join([f"x{j}" for j in range(X.shape[1])] + ["y"])
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=header, comments="",
               fmt="%.17g")


def run_kreg(kreg, args):
    start = time.perf_counter()
    subprocess.run([kreg, *map(str, args)], check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def bench_select(build_dir):
    exe = os.path.join(build_dir, "bench", "bench_select")
    proc = subprocess.run([exe, "--benchmark_filter=Select/(holdout|loo)/f64/threads:2",
                           "--benchmark_format=json", "--benchmark_min_time=1"],
                          capture_output=True, text=True, check=True)
    out = {}
    for b in json.loads(proc.stdout)["benchmarks"]:
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        out[b["name"].split("/")[1]] = b["real_time"] * unit
    return out


def loo_objective(X, y, h):
    """statsmodels' cv_ls objective: mean squared leave-one-out error."""
    D2 = sum(((X[:, None, f] - X[None, :, f]) / h[f]) ** 2 for f in range(X.shape[1]))
    K = np.exp(-0.5 * D2)
    np.fill_diagonal(K, 0.0)
    return float(np.mean((K @ y / K.sum(axis=1) - y) ** 2))


def main():
    build_dir = sys.argv[1] if len(sys.argv) > 1 else "build/release"
    kreg = os.path.join(build_dir, "kreg")
    sizes = [1000] if "--skip-5000" in sys.argv else [1000, 5000]
    tmp = tempfile.mkdtemp(prefix="kreg-peers-")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores\n")

    # 1. The tutorial's grid.
    np.random.seed(123)
    X_train, y_train, X_test, y_test = generate_data(10000, 10)
    write_csv(f"{tmp}/train.csv", X_train, y_train)
    write_csv(f"{tmp}/test.csv", X_test, y_test)
    bandwidths = np.logspace(-1, 3, 30)

    def worker(bandwidth):
        model = VectorizedNadarayaWatsonRegressor(bandwidth=bandwidth).fit(X_train, y_train)
        return r2_score(y_test, model.predict(X_test))

    rows = []
    for jobs in (-1, -2):
        start = time.perf_counter()
        r2 = Parallel(n_jobs=jobs)(delayed(worker)(b) for b in bandwidths)
        rows.append((f"tutorial: joblib Parallel(n_jobs={jobs}) over 30 fits",
                     time.perf_counter() - start))
    reference = np.array(r2)
    tutorial_s = rows[0][1]
    warm = []
    for _ in range(3):
        start = time.perf_counter()
        Parallel(n_jobs=-1)(delayed(worker)(b) for b in bandwidths)
        warm.append(time.perf_counter() - start)
    warm_s = float(np.median(warm))
    rows.append(("tutorial: joblib Parallel(n_jobs=-1), workers warm (median of 3)", warm_s))
    out = f"{tmp}/holdout.json"
    common = ["tune", "--train", f"{tmp}/train.csv", "--target", "y", "--bandwidths",
              "logspace:-1:3:30", "--quiet"]
    run_kreg(kreg, common + ["--test", f"{tmp}/test.csv", "--cv", "holdout", "--out", out])
    t = min(run_kreg(kreg, common + ["--test", f"{tmp}/test.csv", "--cv", "holdout", "--out",
                                     out]) for _ in range(3))
    rows.append(("kreg tune --cv holdout (whole command: read CSV, grid, write)", t))
    got = np.array(json.load(open(out))["cv_results"]["mean_test_score"])
    lib = bench_select(build_dir)
    rows.append(("kreg BandwidthCV holdout (library call, 2 threads)", lib["holdout"]))
    t_loo = min(run_kreg(kreg, common + ["--cv", "loo", "--out", f"{tmp}/loo.json"])
                for _ in range(3))
    rows.append(("kreg tune --cv loo, 8000 points (whole command)", t_loo))
    rows.append(("kreg BandwidthCV loo (library call, 2 threads)", lib["loo"]))
    print("### The tutorial's bandwidth grid: 30 bandwidths, 8000 train / 2000 test, d = 10\n")
    print("| implementation | time (s) | speed-up vs tutorial n_jobs=-1 | vs n_jobs=-1, warm |")
    print("|---|---:|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} | {tutorial_s / seconds:.1f}x | {warm_s / seconds:.1f}x |")
    rel = np.max(np.abs(got - reference) / np.maximum(np.abs(reference), 1e-300))
    print(f"\nR^2 per bandwidth, kreg vs tutorial: max relative difference {rel:.2e}; "
          f"best h = {bandwidths[np.argmax(got)]:.6g}, R^2 = {got.max():.6f}\n")

    # 2. Per-feature cv_ls against statsmodels.
    from statsmodels.nonparametric.kernel_regression import KernelReg
    print("### Per-feature cv_ls bandwidths, d = 2, y = sin(x1 + x2) + 0.3 noise\n")
    print("| n | statsmodels KernelReg cv_ls (s) | kreg tune per-feature (s) | speed-up | "
          "statsmodels h | kreg h | LOO objective statsmodels | LOO objective kreg |")
    print("|---:|---:|---:|---:|---|---|---:|---:|")
    for n in sizes:
        rng = np.random.RandomState(n)
        X = rng.normal(size=(n, 2))
        y = np.sin(X[:, 0] + X[:, 1]) + 0.3 * rng.normal(size=n)
        start = time.perf_counter()
        sm = KernelReg(endog=y, exog=X, var_type="cc", reg_type="lc", bw="cv_ls")
        sm_s = time.perf_counter() - start
        write_csv(f"{tmp}/cvls{n}.csv", X, y)
        res = f"{tmp}/cvls{n}.json"
        kreg_s = run_kreg(kreg, ["tune", "--train", f"{tmp}/cvls{n}.csv", "--target", "y",
                                 "--cv", "loo", "--scoring", "mse", "--optimize", "per-feature",
                                 "--out", res, "--quiet"])
        h = json.load(open(res))["optimized"]["bandwidth"]
        print(f"| {n} | {sm_s:.2f} | {kreg_s:.3f} | {sm_s / kreg_s:.0f}x | "
              f"{np.array2string(sm.bw, precision=4)} | {np.array2string(np.array(h), precision=4)} | "
              f"{loo_objective(X, y, sm.bw):.8f} | {loo_objective(X, y, np.array(h)):.8f} |")


if __name__ == "__main__":
    main()
