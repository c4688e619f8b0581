"""kreg's NW engines side by side with what a tutorial user would run instead,
in one run on one machine:

  * the tutorial's VectorizedNadarayaWatsonRegressor (numpy + scikit-learn's
    pairwise_distances), copied verbatim from the tutorial;
  * a numba-parallel fused loop (prange over queries, no m x n matrix);
  * kreg's engines, through bench_nw (Google Benchmark, JSON output).

Workload: the tutorial's generate_data(10000, 10) with np.random.seed(123),
train_test_split(test_size=0.2, random_state=42), bandwidth 0.5.

Usage: python bench/peers.py BUILD_DIR   (prints a markdown table)

       python bench/peers.py BUILD_DIR --pixels [DATA_DIR]
           the tutorial's numpy on bench_nw's Fashion workload instead: the
           60,000 training images against the first 1,000 test images, d =
           784, pixels / 255 in float64, h = 2, next to bench_nw's
           Fashion/<engine>/<type>/threads:2. The tutorial's class takes one
           output, so it predicts the label as a number; kreg predicts the ten
           one-hot columns (more work for kreg, the same distances).
"""
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
from sklearn.metrics import r2_score


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tutorial import VectorizedNadarayaWatsonRegressor, generate_data  # noqa: E402


def numba_predict():
    from numba import njit, prange

    @njit(parallel=True, fastmath=True, cache=False)
    def predict(Z, X, y, h):
        m, d = Z.shape
        n = X.shape[0]
        out = np.empty(m, dtype=Z.dtype)
        scale = Z.dtype.type(-0.5 / (h * h))
        for i in prange(m):
            num = 0.0
            den = 0.0
            for j in range(n):
                d2 = Z.dtype.type(0.0)
                for f in range(d):
                    t = Z[i, f] - X[j, f]
                    d2 += t * t
                w = np.exp(scale * d2)
                num += w * y[j]
                den += w
            out[i] = num / den
        return out

    return predict


def best_time(fn, repeats):
    best = float("inf")
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def kreg_results(build_dir):
    exe = os.path.join(build_dir, "bench", "bench_nw")
    proc = subprocess.run([exe, "--benchmark_filter=Tutorial", "--benchmark_format=json",
                           "--benchmark_min_time=0.5"], capture_output=True, text=True,
                          check=True)
    rows = []
    for b in json.loads(proc.stdout)["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        seconds = b["real_time"] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        rows.append((f"kreg {b['name']}", seconds, b.get("r2")))
    return rows


def read_idx(path):
    import gzip
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def pixels(build_dir, data_dir):
    def load(prefix, rows):
        X = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))[:rows]
        y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))[:rows]
        return X.reshape(len(X), -1).astype(np.float64) / 255.0, y.astype(np.float64)

    X_train, y_train = load("train", 60000)
    X_test, _ = load("t10k", 1000)
    m, n = X_test.shape[0], X_train.shape[0]
    model = VectorizedNadarayaWatsonRegressor(2.0).fit(X_train, y_train)
    t, _ = best_time(lambda: model.predict(X_test), 3)
    rows = [("tutorial VectorizedNadarayaWatsonRegressor (numpy, f64, one output)", t)]
    tutorial = t
    exe = os.path.join(build_dir, "bench", "bench_nw")
    proc = subprocess.run([exe, "--benchmark_filter=Fashion/.*/threads:2",
                           "--benchmark_format=json"], capture_output=True, text=True, check=True)
    for b in json.loads(proc.stdout)["benchmarks"]:
        seconds = b["real_time"] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        rows.append((f"kreg {b['name']} (ten outputs)", seconds))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical "
          f"cores; workload: m = {m} Fashion-MNIST test images x n = {n} training images, "
          f"d = 784, h = 2\n")
    print("| implementation | time (ms) | pairs/s | speed-up vs tutorial |")
    print("|---|---:|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds * 1e3:.1f} | {m * n / seconds:.3g} | "
              f"{tutorial / seconds:.2f}x |")


def main():
    build_dir = sys.argv[1] if len(sys.argv) > 1 else "build/release"
    if len(sys.argv) > 2 and sys.argv[2] == "--pixels":
        pixels(build_dir, sys.argv[3] if len(sys.argv) > 3 else "/usr/share/datasets/fashion-mnist")
        return
    np.random.seed(123)
    X_train, y_train, X_test, y_test = generate_data(10000, 10)
    m, n = X_test.shape[0], X_train.shape[0]
    rows = []

    t, pred = best_time(lambda: VectorizedNadarayaWatsonRegressor(0.5).fit(X_train, y_train)
                        .predict(X_test), 5)
    rows.append(("tutorial VectorizedNadarayaWatsonRegressor (numpy, f64)", t,
                 r2_score(y_test, pred)))
    tutorial = t

    predict = numba_predict()
    for dtype in (np.float64, np.float32):
        Z, X, y = (a.astype(dtype) for a in (X_test, X_train, y_train))
        predict(Z[:2], X, y, 0.5)  # compile outside the timing
        t, pred = best_time(lambda: predict(Z, X, y, 0.5), 5)
        rows.append((f"numba parallel fused loop ({np.dtype(dtype).name})", t,
                     r2_score(y_test, pred)))

    rows += kreg_results(build_dir)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical "
          f"cores; workload: m = {m} queries x n = {n} training points, d = 10, h = 0.5\n")
    print("| implementation | time (ms) | pairs/s | speed-up vs tutorial | R^2 |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds, r2 in rows:
        r2_text = f"{r2:.6f}" if r2 is not None else ""
        print(f"| {name} | {seconds * 1e3:.2f} | {m * n / seconds:.3g} | "
              f"{tutorial / seconds:.1f}x | {r2_text} |")


if __name__ == "__main__":
    main()
