"""kreg's inference and cross-validation workloads side by side with the
tutorial's scikit-learn/joblib code (section 4.1 and 4.3), in one run on one
machine, on Fashion-MNIST from Debian's dataset-fashion-mnist (MNIST's file
names and format, so --data works for real MNIST too):

  1. Inference on independent samples: LogisticRegression(max_iter=1000,
     solver='lbfgs', n_jobs=-1) fitted on the first 10000 training images
     (raw pixels as float64, as the tutorial fits mnist.data), then the
     10000 first test images labelled one call per sample (serial), one
     joblib task per sample (Parallel(n_jobs=-1), the tutorial's code), and
     in one batched predict. The tutorial's 784 -> 10 network on pixels / 255
     in batches of 1024 is run in numpy with the fitted weights. kreg: the
     same table from `kreg infer` (it standardises features and trains to
     --tol 1e-4).
  2. Cross-validation folds: 5-fold stratified, shuffled cross_val_score of
     Pipeline(StandardScaler, LogisticRegression(max_iter=1000)) with
     n_jobs=-1 against `kreg cv --model logreg --stratified --folds 5`.

Usage: python bench/peers_infer.py BUILD_DIR [--data DIR] [--rows N] [--skip-cv]
(prints markdown)
"""
import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data_dir, prefix, rows):
    X = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))[:rows]
    y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))[:rows]
    return X.reshape(len(X), -1).astype(np.float64), y.astype(int)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def kreg_json(cmd):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.json")
        t = time.perf_counter()
        subprocess.run(cmd + ["--out", out], check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t
        with open(out) as f:
            return wall, json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--skip-cv", action="store_true")
    args = ap.parse_args()
    kreg = os.path.join(args.build, "kreg")

    X_train, y_train = load(args.data, "train", args.rows)
    X_test, y_test = load(args.data, "t10k", args.rows)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"data: {args.data}, {len(X_train)} train / {len(X_test)} test images")
    print()

    # ---- 1. inference -------------------------------------------------------
    model = LogisticRegression(max_iter=1000, solver="lbfgs", n_jobs=-1)
    fit_s, _ = timed(lambda: model.fit(X_train, y_train))
    sk_acc = model.score(X_test, y_test)

    def predict_one(x):
        return model.predict(x.reshape(1, -1))[0]

    serial_s, serial = timed(lambda: [model.predict(x.reshape(1, -1))[0] for x in X_test])
    parallel_s, parallel = timed(
        lambda: Parallel(n_jobs=-1)(delayed(predict_one)(x) for x in X_test))
    batched = []
    batched_s = min(timed(lambda: batched.append(model.predict(X_test)))[0] for _ in range(5))
    W, b = model.coef_ * 255.0, model.intercept_

    def network():
        preds = []
        for i in range(0, len(X_test), 1024):
            preds.append(np.argmax((X_test[i:i + 1024] / 255.0) @ W.T + b, axis=1))
        return np.concatenate(preds)

    network_s = min(timed(network)[0] for _ in range(5))
    net_acc = np.mean(model.classes_[network()] == y_test)
    assert list(serial) == list(parallel) == list(batched[0])

    wall, k = kreg_json([kreg, "infer", "--data", args.data, "--train-rows", str(args.rows),
                         "--test-rows", str(args.rows), "--mode", "all", "--repeat", "5"])
    km = {m["mode"].split(",")[0]: m for m in k["modes"]}
    n = len(X_test)
    print("### Inference on independent samples (tutorial 4.1)")
    print()
    print("| step | scikit-learn / joblib (s) | accuracy | kreg (s) | accuracy | speed-up |")
    print("|---|---:|---:|---:|---:|---:|")
    f = k["fit"]
    print(f"| fit ({args.rows} images; sklearn {int(model.n_iter_[0])} it, raw pixels; kreg "
          f"{f['iterations']} it, {'converged' if f['converged'] else 'NOT converged'}) "
          f"| {fit_s:.2f} | {sk_acc:.4f} | {f['seconds']:.2f} | {km['batched']['accuracy']:.4f} "
          f"| {fit_s / f['seconds']:.1f}x |")
    rows = [("serial per-sample", serial_s, sk_acc, "serial per-sample"),
            ("parallel per-sample (joblib n_jobs=-1 / kreg::par)", parallel_s, sk_acc,
             "parallel per-sample"),
            ("batched", batched_s, sk_acc, "batched"),
            ("network 784->10, batches of 1024 (numpy / kreg)", network_s, net_acc, "network")]
    for name, s, acc, key in rows:
        ks = km[key]["seconds"]
        print(f"| {name} | {s:.4f} | {acc:.4f} | {ks:.4f} | {km[key]['accuracy']:.4f} "
              f"| {s / ks:.1f}x |")
    print()
    print(f"{n} test images. kreg: parallel per-sample is "
          f"{km['serial per-sample']['seconds'] / km['parallel per-sample']['seconds']:.2f}x "
          f"serial per-sample (joblib's: {serial_s / parallel_s:.2f}x). Whole `kreg infer` "
          f"command: {wall:.2f} s including reading the gzip files and 5 timing repeats.")
    print()

    # ---- 2. cross-validation ------------------------------------------------
    if args.skip_cv:
        return
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    cv_s, scores = timed(lambda: cross_val_score(pipe, X_train, y_train, cv=cv, n_jobs=-1))
    wall, k = kreg_json([kreg, "cv", "--model", "logreg", "--data", args.data, "--train-rows",
                         str(args.rows), "--folds", "5", "--stratified", "--seed", "0"])
    print("### Cross-validation folds (tutorial 4.3)")
    print()
    print("| | mean accuracy | std | seconds |")
    print("|---|---:|---:|---:|")
    print(f"| scikit-learn cross_val_score(StandardScaler + LogisticRegression, "
          f"StratifiedKFold(5), n_jobs=-1) | {scores.mean():.4f} | {scores.std():.4f} "
          f"| {cv_s:.2f} |")
    print(f"| kreg cv --model logreg --stratified --folds 5 | {k['mean_test_score']:.4f} "
          f"| {k['std_test_score']:.4f} | {k['seconds']:.2f} (command {wall:.2f}) |")
    print()


if __name__ == "__main__":
    sys.exit(main())
