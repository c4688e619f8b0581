"""kreg's random numbers, synthetic data, splits and metrics against numpy's
legacy RandomState and scikit-learn, through the kreg_probe test executable.

Run with KREG_PROBE=/path/to/kreg_probe; without it every test is skipped.
Random draws, generated X/coef/intercept and all index lists must match
exactly; the regression metrics must match to 1e-12 relative. y must match to
1e-12 relative to the size of its terms: numpy computes X @ coef with BLAS
(OpenBLAS dgemv, whose summation order and FMA use depend on the CPU), kreg
sums j = 0..d-1 in order, so about 40% of the y values differ in the last bit
or two, and where the terms nearly cancel that is far more than 1e-12 of y.
"""

import json
import subprocess
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.exceptions import UndefinedMetricWarning  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
)
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split  # noqa: E402

SEEDS = [0, 1, 42, 123, 2**32 - 1]


@pytest.fixture(scope="module")
def probe(probe_bin):
    def run(*args):
        cmd = [probe_bin, *map(str, args)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{cmd} failed ({done.returncode}): {done.stderr}"
        return json.loads(done.stdout)

    run.path = probe_bin
    return run


def write_numbers(path, values):
    # repr() of a Python float round-trips exactly.
    path.write_text("".join(f"{v!r}\n" for v in values))
    return path


# ------------------------------------------------------------ random numbers


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("count", [1, 2, 7, 1000])
def test_normal(probe, seed, count):
    got = probe("normal", seed, count)["values"]
    want = np.random.RandomState(seed).normal(size=count).tolist()
    assert got == want


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("count", [1, 3, 1000])
def test_uniform(probe, seed, count):
    got = probe("uniform", seed, count)["values"]
    want = np.random.RandomState(seed).random_sample(count).tolist()
    assert got == want


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [1, 2, 10, 1000, 10000])
def test_permutation(probe, seed, n):
    got = probe("permutation", seed, n)["values"]
    want = np.random.RandomState(seed).permutation(n).tolist()
    assert got == want


# ------------------------------------------------------------ generate_data


def tutorial_data(n, d, seed):
    np.random.seed(seed)
    X = np.random.normal(size=(n, d))
    coef = np.random.normal(size=(d,))
    intercept = np.random.normal()
    noise = np.random.normal(size=(n,))
    y = (X @ coef + intercept + noise).reshape(-1)
    # What each y[i] is a sum of, in absolute value: the scale of its rounding.
    y_scale = np.abs(X) @ np.abs(coef) + abs(intercept) + np.abs(noise)
    return X, y, coef, intercept, y_scale


def assert_y_close(got, want, scale):
    err = np.abs(got - want)
    bad = np.flatnonzero(err > 1e-12 * scale)
    assert bad.size == 0, (
        f"{bad.size} y values differ by more than 1e-12 of their terms' size, first at "
        f"{bad[0]}: {got[bad[0]]!r} vs numpy's {want[bad[0]]!r}"
    )


@pytest.mark.parametrize("n,d,seed", [(1, 1, 0), (7, 3, 5), (100, 10, 1), (333, 2, 2**32 - 1),
                                      (10000, 10, 123)])
def test_generate(probe, n, d, seed):
    got = probe("generate", n, d, seed)
    X, y, coef, intercept, y_scale = tutorial_data(n, d, seed)
    gX = np.array(got["X"], dtype=np.float64)
    assert gX.shape == (n, d)
    assert np.array_equal(gX, X)
    assert got["coef"] == coef.tolist()
    assert got["intercept"] == intercept
    gy = np.array(got["y"], dtype=np.float64).reshape(-1)
    assert gy.shape == (n,)
    assert_y_close(gy, y, y_scale)


# --------------------------------------------------------- train_test_split


@pytest.mark.parametrize(
    "n,test_size,seed",
    [(10000, 0.2, 42), (10, 0.3, 0), (7, 0.25, 3), (101, 0.33, 9), (2, 0.5, 1),
     (1000, 0.999, 4), (1000, 0.001, 2**32 - 1), (12345, 0.1, 123)],
)
def test_train_test_split(probe, n, test_size, seed):
    got = probe("split", n, repr(test_size), seed)
    train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed)
    assert got["train"] == train.tolist()
    assert got["test"] == test.tolist()


def test_tutorial_pipeline(probe):
    """generate_data(10000, 10, 123) then train_test_split(0.2, 42): the
    tutorial's X_train, X_test, y_train, y_test."""
    X, y, _, _, y_scale = tutorial_data(10000, 10, 123)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    data = probe("generate", 10000, 10, 123)
    split = probe("split", 10000, "0.2", 42)
    gX = np.array(data["X"], dtype=np.float64)
    gy = np.array(data["y"], dtype=np.float64).reshape(-1)
    assert np.array_equal(gX[split["train"]], X_train)
    assert np.array_equal(gX[split["test"]], X_test)
    assert_y_close(gy[split["train"]], y_train, y_scale[split["train"]])
    assert_y_close(gy[split["test"]], y_test, y_scale[split["test"]])


# -------------------------------------------------------------------- kfold


def sklearn_folds(splitter, n, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # least populated class < k
        return [{"train": tr.tolist(), "test": te.tolist()}
                for tr, te in splitter.split(np.zeros((n, 1)), y)]


@pytest.mark.parametrize("n,k", [(2, 2), (10, 2), (10, 3), (11, 5), (103, 10), (7, 7),
                                 (1000, 4)])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("seed", [0, 42, 2**32 - 1])
def test_kfold(probe, n, k, shuffle, seed):
    got = probe("kfold", n, k, int(shuffle), seed)["folds"]
    kf = KFold(n_splits=k, shuffle=shuffle, random_state=seed if shuffle else None)
    assert got == sklearn_folds(kf, n)


# --------------------------------------------------------- stratified kfold


def label_sets():
    rs = np.random.RandomState(7)
    imbalanced = np.array([0] * 50 + [1] * 7 + [2] * 3)
    rs.shuffle(imbalanced)
    return {
        "balanced": np.tile([0, 1], 20),
        "imbalanced": imbalanced,
        # classes first appear as 5, -1, 2: encoded by appearance, not value
        "appearance": np.array([5, 5, -1, 2, -1, 5, 2, 2, -1, 5, 5, 2, -1, 2, 5, 5, 5]),
        "binary_random": rs.randint(0, 2, size=101),
        "multiclass_random": rs.randint(0, 6, size=997),
        "small_class": np.array([1] * 20 + [0] * 2 + [3]),  # fewer than k members
        "single_class": np.full(9, 4),
    }


@pytest.mark.parametrize("name", list(label_sets()))
@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("seed", [0, 42, 123])
def test_stratified_kfold(probe, tmp_path, name, k, shuffle, seed):
    y = label_sets()[name]
    labels = write_numbers(tmp_path / "labels.txt", y.tolist())
    got = probe("stratified", labels, k, int(shuffle), seed)["folds"]
    skf = StratifiedKFold(n_splits=k, shuffle=shuffle, random_state=seed if shuffle else None)
    assert got == sklearn_folds(skf, len(y), y)


def test_stratified_kfold_too_few_members(probe, tmp_path):
    y = np.array([0, 0, 1, 1, 2, 2])
    with pytest.raises(ValueError, match="cannot be greater than the number of members"):
        sklearn_folds(StratifiedKFold(n_splits=3), len(y), y)
    labels = write_numbers(tmp_path / "labels.txt", y.tolist())
    done = subprocess.run([probe.path, "stratified", str(labels), "3", "0", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "k = 3" in done.stderr


# ------------------------------------------------------------------ metrics


def metric_cases():
    rs = np.random.RandomState(2024)
    cases = {}
    for n in [1, 2, 10, 1000, 100000]:
        cases[f"random_{n}"] = (rs.normal(size=n), rs.normal(size=n))
    t = rs.normal(loc=100.0, scale=5.0, size=5000)
    cases["close_fit"] = (t, t + rs.normal(scale=1e-3, size=t.size))
    cases["constant_true"] = (np.full(50, 3.0), rs.normal(size=50))
    cases["constant_perfect"] = (np.full(50, 3.0), np.full(50, 3.0))
    return cases


@pytest.mark.parametrize("case", list(metric_cases()))
@pytest.mark.parametrize("name,fn", [("r2", r2_score), ("mse", mean_squared_error),
                                     ("mae", mean_absolute_error)])
def test_regression_metrics(probe, tmp_path, case, name, fn):
    y_true, y_pred = metric_cases()[case]
    t = write_numbers(tmp_path / "true.txt", y_true.tolist())
    p = write_numbers(tmp_path / "pred.txt", y_pred.tolist())
    got = probe("metric", name, t, p)["value"]
    if name == "r2" and len(y_true) < 2:
        # Undefined for one sample: NaN in both (scikit-learn also warns); the
        # probe's JSON writes NaN as null.
        with pytest.warns(UndefinedMetricWarning):
            assert np.isnan(fn(y_true, y_pred))
        assert got is None
        return
    want = float(fn(y_true, y_pred))
    assert got == pytest.approx(want, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("n,classes", [(1, 2), (10, 2), (1000, 3), (5000, 10)])
def test_accuracy(probe, tmp_path, n, classes):
    rs = np.random.RandomState(n)
    y_true = rs.randint(0, classes, size=n)
    y_pred = np.where(rs.random_sample(n) < 0.7, y_true, rs.randint(0, classes, size=n))
    t = write_numbers(tmp_path / "true.txt", y_true.tolist())
    p = write_numbers(tmp_path / "pred.txt", y_pred.tolist())
    got = probe("metric", "accuracy", t, p)["value"]
    assert got == accuracy_score(y_true, y_pred)
