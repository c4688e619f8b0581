"""`kreg infer` (the tutorial's inference on independent samples, 4.1) and
`kreg cv` (cross-validation folds, 4.3): agreement with scikit-learn on the
same folds, identical results for any --jobs, and the errors of bad input.

Image sets are small synthetic MNIST-style directories (the four IDX files
under their standard names), so every check runs in well under a second; one
test also runs on Debian's Fashion-MNIST."""
import gzip
import json
import os
import struct

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import pairwise_distances, r2_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

FASHION = "/usr/share/datasets/fashion-mnist"


def write_idx(path, array):
    array = np.ascontiguousarray(array, dtype=np.uint8)
    raw = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw += array.tobytes()
    with open(path, "wb") as f:
        f.write(gzip.compress(raw) if path.endswith(".gz") else raw)


def make_images(rng, protos, n, side=6):
    """Noisy class prototypes: learnable, but not perfectly separable."""
    y = rng.integers(0, len(protos), size=n)
    X = protos[y] + rng.normal(0, 200, size=(n, side * side))
    return np.clip(X, 0, 255).astype(np.uint8).reshape(n, side, side), y.astype(np.uint8)


def image_dir(path, n_train=300, n_test=200, seed=0, gz=True):
    rng = np.random.default_rng(seed)
    protos = rng.integers(0, 256, size=(4, 36))  # 4 classes of 6 x 6 images
    Xtr, ytr = make_images(rng, protos, n_train)
    Xte, yte = make_images(rng, protos, n_test)
    os.makedirs(path, exist_ok=True)
    ext = ".gz" if gz else ""
    write_idx(os.path.join(path, "train-images-idx3-ubyte" + ext), Xtr)
    write_idx(os.path.join(path, "train-labels-idx1-ubyte" + ext), ytr)
    write_idx(os.path.join(path, "t10k-images-idx3-ubyte" + ext), Xte)
    write_idx(os.path.join(path, "t10k-labels-idx1-ubyte" + ext), yte)
    return (Xtr.reshape(n_train, -1).astype(float), ytr.astype(int),
            Xte.reshape(n_test, -1).astype(float), yte.astype(int))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("images"))
    return path, image_dir(path)


def sklearn_logreg(tol=1e-10):
    # kreg standardises internally with the same objective (mean log-loss +
    # ||W||^2 / (2 C n)), so it matches this pipeline at the optimum.
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, tol=tol, max_iter=10000))


# ---- kreg infer -------------------------------------------------------------

def test_infer_table_modes_agree_and_match_sklearn(kreg, images, tmp_path):
    path, (Xtr, ytr, Xte, yte) = images
    out = tmp_path / "infer.json"
    proc = kreg("infer", "--data", path, "--train-rows", -1, "--test-rows", -1, "--tol", 1e-8,
                "--out", out)
    for mode in ("serial per-sample", "parallel per-sample", "batched", "network, batches of 1024"):
        assert mode in proc.stdout
    result = json.loads(out.read_text())
    assert result["fit"]["converged"]
    acc = {m["mode"]: m["accuracy"] for m in result["modes"]}
    expected = sklearn_logreg().fit(Xtr, ytr).score(Xte, yte)
    # Same optimum: the labels, hence the accuracy, are scikit-learn's.
    assert acc["serial per-sample"] == pytest.approx(expected, abs=1e-12)
    assert acc["parallel per-sample"] == acc["serial per-sample"] == acc["batched"]
    assert abs(acc["network, batches of 1024"] - acc["batched"]) <= 1.0 / len(yte)
    assert 0.5 < expected < 1.0  # the problem is neither trivial nor hopeless


def test_infer_same_fit_for_any_jobs(kreg, images, tmp_path):
    path, _ = images
    fits = []
    for jobs in (1, 2, 3, 8):
        out = tmp_path / f"j{jobs}.json"
        kreg("infer", "--data", path, "--train-rows", 250, "--test-rows", 150, "--jobs", jobs,
             "--mode", "batched", "--out", out)
        r = json.loads(out.read_text())
        fits.append((r["fit"]["objective"], r["fit"]["iterations"], r["modes"][0]["accuracy"]))
    assert all(f == fits[0] for f in fits)  # bit-identical objective


def test_infer_reads_plain_idx_and_fashion_mnist(kreg, tmp_path):
    image_dir(str(tmp_path / "plain"), gz=False)
    kreg("infer", "--data", tmp_path / "plain", "--train-rows", 100, "--test-rows", 50)
    if not os.path.exists(os.path.join(FASHION, "train-images-idx3-ubyte.gz")):
        pytest.skip(f"Fashion-MNIST not found in {FASHION}")
    proc = kreg("infer", "--data", FASHION, "--train-rows", 2000, "--test-rows", 1000,
                "--mode", "batched")
    accuracy = float(proc.stdout.strip().splitlines()[-1].split()[-1])
    assert 0.75 < accuracy < 0.95, proc.stdout  # a linear model on Fashion-MNIST


def test_infer_not_converged_warns(kreg, images):
    path, _ = images
    proc = kreg("infer", "--data", path, "--max-iter", 2, "--mode", "batched")
    assert "warning: L-BFGS stopped before the gradient tolerance --tol 0.0001 was reached" \
        in proc.stderr
    assert "not converged" in proc.stdout


@pytest.mark.parametrize("args, message", [
    (["--mode", "fast"],
     "--mode 'fast' is not a mode; use serial, parallel, batched, network or all"),
    (["--jobs", "0"], "--jobs 0 is not valid; use a positive thread count, -1 for all cores or -2 "
                      "for all but one"),
    (["--train-rows", "301"], "--train-rows 301 asks for more images than"),
    (["--test-rows", "0"], "--test-rows must be a positive row count (or -1 for all)"),
    (["--batch-size", "0"], "--batch-size must be >= 1"),
    (["--C", "0"], "LogisticRegression: C must be a finite number > 0 (the inverse of the L2 "
                   "strength), got "),
])
def test_infer_bad_arguments(kreg, images, args, message):
    path, _ = images
    proc = kreg("infer", "--data", path, *args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr


def test_infer_bad_directories(kreg, images, tmp_path):
    path, _ = images
    proc = kreg("infer", "--data", tmp_path / "nowhere", check=False)
    assert proc.returncode == 1
    assert f"--data '{tmp_path / 'nowhere'}' is not a directory" in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = kreg("infer", "--data", empty, check=False)
    assert proc.returncode == 1
    assert f"--data '{empty}' has no train-images-idx3-ubyte (or train-images-idx3-ubyte.gz)" \
        in proc.stderr
    # Label and image counts that differ.
    bad = tmp_path / "mismatch"
    image_dir(str(bad), n_train=50, n_test=20)
    write_idx(str(bad / "train-labels-idx1-ubyte.gz"), np.zeros(49, np.uint8))
    proc = kreg("infer", "--data", bad, check=False)
    assert proc.returncode == 1
    assert "has 49 labels but" in proc.stderr and "has 50 images; they must match" in proc.stderr
    # A truncated (corrupt) image file.
    corrupt = tmp_path / "corrupt"
    image_dir(str(corrupt), n_train=50, n_test=20, gz=False)
    raw = (corrupt / "t10k-images-idx3-ubyte").read_bytes()
    (corrupt / "t10k-images-idx3-ubyte").write_bytes(raw[:-100])
    proc = kreg("infer", "--data", corrupt, check=False)
    assert proc.returncode == 1
    assert "t10k-images-idx3-ubyte" in proc.stderr
    assert not (corrupt / "infer.json").exists()


# ---- kreg cv ----------------------------------------------------------------

def test_cv_logreg_matches_sklearn_cross_val_score(kreg, images, tmp_path):
    path, (Xtr, ytr, _, _) = images
    out = tmp_path / "cv.json"
    kreg("cv", "--model", "logreg", "--data", path, "--folds", 5, "--stratified", "--shuffle", "--seed", 3,
         "--tol", 1e-8, "--out", out)
    r = json.loads(out.read_text())
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=3)
    expected = []
    for train, test in cv.split(Xtr, ytr):
        expected.append(sklearn_logreg().fit(Xtr[train], ytr[train]).score(Xtr[test], ytr[test]))
        assert len(test) == r["folds"][len(expected) - 1]["test_size"]
    got = [f["test_score"] for f in r["folds"]]
    assert got == pytest.approx(expected, abs=1e-12)  # same folds, same optimum, same labels
    assert r["mean_test_score"] == pytest.approx(np.mean(expected), abs=1e-12)
    assert r["std_test_score"] == pytest.approx(np.std(expected), abs=1e-12)


def test_cv_logreg_identical_for_any_jobs(kreg, images, tmp_path):
    path, _ = images
    runs = []
    for jobs in (1, 2, 3, 8):
        out = tmp_path / f"cv{jobs}.json"
        kreg("cv", "--model", "logreg", "--data", path, "--folds", 4, "--jobs", jobs, "--out", out)
        r = json.loads(out.read_text())
        runs.append([(f["test_score"], f["n_iter"]) for f in r["folds"]])
    assert all(run == runs[0] for run in runs)


def tutorial_nw_predict(X_train, y_train, X_test, h):
    # The tutorial's VectorizedNadarayaWatsonRegressor.predict.
    kernels = np.exp(-0.5 * pairwise_distances(X_test, X_train) ** 2 / h ** 2)
    return (kernels @ y_train) / kernels.sum(axis=1)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(400, 3))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2 + 0.3 * rng.normal(size=400)
    path = tmp_path_factory.mktemp("table") / "train.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,y", comments="",
               fmt="%.17g")
    return path, X, y


@pytest.mark.parametrize("scoring", ["r2", "mse", "mae"])
def test_cv_nw_matches_tutorial_code_per_fold(kreg, table, tmp_path, scoring):
    path, X, y = table
    out = tmp_path / "cv.json"
    kreg("cv", "--model", "nw", "--train", path, "--target", "y", "--bandwidth", 0.7,
         "--folds", 5, "--shuffle", "--seed", 11, "--scoring", scoring, "--out", out)
    r = json.loads(out.read_text())
    expected = []
    for train, test in KFold(n_splits=5, shuffle=True, random_state=11).split(X):
        pred = tutorial_nw_predict(X[train], y[train], X[test], 0.7)
        expected.append({"r2": r2_score(y[test], pred),
                         "mse": np.mean((y[test] - pred) ** 2),
                         "mae": np.mean(np.abs(y[test] - pred))}[scoring])
    assert [f["test_score"] for f in r["folds"]] == pytest.approx(expected, rel=1e-9)


def test_cv_nw_agrees_with_tune(kreg, table, tmp_path):
    path, _, _ = table
    kreg("cv", "--model", "nw", "--train", path, "--target", "y", "--bandwidth", 0.5,
         "--folds", 4, "--seed", 2, "--out", tmp_path / "cv.json")
    kreg("tune", "--train", path, "--target", "y", "--bandwidths", "0.5", "--cv", 4,
         "--seed", 2, "--out", tmp_path / "tune.json")
    cv = json.loads((tmp_path / "cv.json").read_text())
    tune = json.loads((tmp_path / "tune.json").read_text())["cv_results"]
    for s, fold in enumerate(cv["folds"]):
        assert fold["test_score"] == pytest.approx(tune[f"split{s}_test_score"][0], rel=1e-9)


@pytest.mark.parametrize("args, message", [
    (["--model", "svm", "--train", "T", "--target", "y"],
     "--model 'svm' is not a model; use logreg or nw"),
    (["--model", "nw", "--train", "T", "--target", "y", "--stratified"],
     "--stratified keeps class proportions, so it needs class labels: use it with --model logreg"),
    (["--model", "nw", "--train", "T", "--target", "y", "--folds", "1"],
     "--folds 1 must be at least 2"),
    (["--model", "nw", "--train", "T", "--target", "y", "--folds", "401"],
     "--folds 401 is more than the 400 rows of the data"),
    (["--model", "nw", "--train", "T", "--target", "y", "--scoring", "accuracy"],
     "unknown"),
    (["--model", "logreg", "--train", "T", "--target", "y", "--scoring", "r2"],
     "--scoring 'r2' is not available for logreg; it is scored by accuracy"),
    (["--model", "nw", "--train", "T"], "--train needs --target COLUMN or --train-y FILE"),
    (["--model", "nw", "--train", "T", "--target", "y", "--bandwidth", "0"],
     "--bandwidth 0 must be a positive number"),
    (["--model", "nw", "--train", "T", "--target", "y", "--jobs", "0"],
     "--jobs 0 is not valid"),
    (["--model", "logreg"], "give the data either as --data DIR (images) or as --train FILE"),
])
def test_cv_bad_arguments(kreg, table, args, message):
    path, _, _ = table
    args = [str(path) if a == "T" else a for a in args]
    proc = kreg("cv", *args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr


def test_cv_stratified_needs_enough_members(kreg, tmp_path):
    # Every class has 3 images, fewer than 5 folds: StratifiedKFold(5) refuses, as in
    # scikit-learn.
    d = tmp_path / "few"
    image_dir(str(d), n_train=12, n_test=10)
    write_idx(str(d / "train-labels-idx1-ubyte.gz"), np.repeat(np.arange(4, dtype=np.uint8), 3))
    proc = kreg("cv", "--model", "logreg", "--data", d, "--folds", 5, "--stratified",
                check=False)
    assert proc.returncode == 2, proc.stderr
    assert "k = 5 is greater than the number of members of every class (the largest class has " \
        "3); use k <= 3" in proc.stderr


def test_cv_stratified_warns_on_a_small_class(kreg, tmp_path):
    d = tmp_path / "small"
    image_dir(str(d), n_train=40, n_test=10)
    write_idx(str(d / "train-labels-idx1-ubyte.gz"),
              np.array([0] * 2 + [1] * 13 + [2] * 13 + [3] * 12, np.uint8))
    proc = kreg("cv", "--model", "logreg", "--data", d, "--folds", 5, "--stratified")
    assert "warning: the smallest class has only 2 members, fewer than --folds 5" in proc.stderr
