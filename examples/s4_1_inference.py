"""Section 4.1, inference on independent samples: a logistic regression on
Fashion-MNIST (the tutorial used MNIST), then its test images labelled one
call per sample, in parallel through kreg.parallel_map, and in one batched
call, which give the same labels.

    python examples/s4_1_inference.py [DATA_DIR]

DATA_DIR holds the four IDX files (default: /usr/share/datasets/fashion-mnist,
Debian's dataset-fashion-mnist, which scripts/bootstrap installs).
"""
import pathlib
import sys
import time

import numpy as np

import kreg


def load(directory, train_rows, test_rows):
    d = pathlib.Path(directory)
    X_train = kreg.read_idx(d / "train-images-idx3-ubyte.gz", flatten=True)[:train_rows]
    y_train = kreg.read_idx(d / "train-labels-idx1-ubyte.gz")[:train_rows]
    X_test = kreg.read_idx(d / "t10k-images-idx3-ubyte.gz", flatten=True)[:test_rows]
    y_test = kreg.read_idx(d / "t10k-labels-idx1-ubyte.gz")[:test_rows]
    return X_train, y_train, X_test, y_test


def main(directory="/usr/share/datasets/fashion-mnist", train_rows=2000, test_rows=500):
    X_train, y_train, X_test, y_test = load(directory, train_rows, test_rows)
    print(f"train {X_train.shape}, test {X_test.shape} (uint8 pixels, no copy to float)")
    model = kreg.LogisticRegression(C=1.0, max_iter=200, tol=1e-3).fit(X_train, y_train)

    start = time.perf_counter()
    serial = [model.predict(x.reshape(1, -1))[0] for x in X_test]
    serial_s = time.perf_counter() - start

    start = time.perf_counter()
    # joblib's Parallel(n_jobs=-1)(delayed(predict_one)(x) for x in X_test), on kreg's threads.
    parallel = kreg.parallel_map(lambda x: model.predict(x.reshape(1, -1))[0], X_test)
    parallel_s = time.perf_counter() - start

    start = time.perf_counter()
    batched = model.predict(X_test)
    batched_s = time.perf_counter() - start

    print(f"serial {serial_s:.4f} s, parallel_map {parallel_s:.4f} s, batched {batched_s:.4f} s")
    assert list(serial) == list(parallel) == list(batched)
    print(f"test accuracy {np.mean(batched == y_test):.4f} (the same labels every way)")


if __name__ == "__main__":
    main(*sys.argv[1:2])
