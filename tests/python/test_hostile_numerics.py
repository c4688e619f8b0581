"""Hostile numbers (issue 14): thread counts beyond reason, undefined scores,
finite input near the floating-point range, and a classifier given a
continuous target; through the `kreg` binary and the Python package.

- --jobs / n_jobs of 10^7 and more crashed inside oneTBB's arena; beyond
  max(1024, cores) they are refused with kreg's message (Python: ValueError,
  also for ints beyond C's range, which nanobind turned into a TypeError).
- R^2 of a one-point fold is undefined: `kreg cv` scores it NaN with a
  warning (JSON null), as scikit-learn does; a bandwidth search refuses it
  before any work instead of calling an arbitrary bandwidth best.
- Targets and sample weights near the largest float give finite predictions
  and scores (exactly the scaled-down data's, scaled back), or a clear error
  where the true MSE is beyond double.
- `kreg cv --model logreg` refuses a continuous target.
"""
import json
import math
import re

import numpy as np
import pytest

NOT_THREADS = "more threads than kreg starts (at most"


def write_csv(path, X, y, fmt="%.17g"):
    header = ",".join([f"x{j}" for j in range(X.shape[1])] + ["y"])
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=header, comments="", fmt=fmt)
    return path


def read_column(path):
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=1)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """60 points in 2 features: y = sin(x0) + x1 / 2 + noise."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] + 0.1 * rng.normal(size=60)
    root = tmp_path_factory.mktemp("numerics")
    return root, X, y, write_csv(root / "train.csv", X, y)


@pytest.fixture(scope="module")
def kreg_pkg():
    """The installed package (skips, with its reason printed, when it is not installed)."""
    from kreg_package import kreg

    return kreg


# ---- 1. thread counts ---------------------------------------------------------


def cli_commands(root, train):
    """Each command that takes --jobs, with the rest of a valid command line."""
    return {
        "predict": ["predict", "--train", train, "--target", "y", "--query", train],
        "tune": ["tune", "--train", train, "--target", "y", "--bandwidths", "0.5,1",
                 "--out", root / "tune.json", "--quiet"],
        "cv": ["cv", "--model", "nw", "--train", train, "--target", "y"],
        "infer": ["infer", "--data", root],
        "augment": ["augment", "--images", train, "--out", root / "aug.idx"],
    }


@pytest.mark.parametrize("command", ["predict", "tune", "cv", "infer", "augment"])
@pytest.mark.parametrize("jobs", ["10000000", "2147483647", "10000000000",
                                  "99999999999999999999"])
def test_jobs_beyond_the_cap_is_refused(kreg, small, command, jobs):
    root, _, _, train = small
    proc = kreg(*cli_commands(root, train)[command], "--jobs", jobs, check=False)
    assert proc.returncode == 2, proc.stderr
    assert f"--jobs: {jobs} is {NOT_THREADS}" in proc.stderr
    assert "use -1 for all cores, -2 for all but one, or a thread count from 1 to" in proc.stderr


@pytest.mark.parametrize("jobs", ["1e10", "2.5", "many"])
def test_jobs_that_is_not_a_whole_number(kreg, small, jobs):
    root, _, _, train = small
    proc = kreg(*cli_commands(root, train)["predict"], "--jobs", jobs, check=False)
    assert proc.returncode == 2
    assert f"--jobs: '{jobs}' is not a whole number; use -1 for all cores" in proc.stderr
    assert "Could not convert" not in proc.stderr


def test_jobs_far_below_minus_cores_is_one_thread(kreg, small):
    """joblib's rule: n_jobs below -cores runs on one thread; so does any value
    beyond C's int range."""
    root, _, _, train = small
    expected = kreg(*cli_commands(root, train)["predict"], "--jobs", 1).stdout
    for jobs in ("-100000", "-10000000000", "-99999999999999999999"):
        assert kreg(*cli_commands(root, train)["predict"], "--jobs", jobs).stdout == expected


def test_jobs_at_the_cap_runs(kreg, small):
    root, _, _, train = small
    expected = kreg(*cli_commands(root, train)["predict"], "--jobs", 1).stdout
    assert kreg(*cli_commands(root, train)["predict"], "--jobs", 1024).stdout == expected


def test_python_n_jobs_beyond_the_cap_is_a_value_error(kreg_pkg, small):
    _, X, y, _ = small
    limit = kreg_pkg._kreg.max_n_jobs()
    assert limit == max(1024, kreg_pkg.hardware_concurrency())
    for n_jobs in (10**7, 2**31, 2**40, 2**100):
        with pytest.raises(ValueError, match=re.escape(f"is {n_jobs}, {NOT_THREADS}")):
            kreg_pkg.NadarayaWatsonRegressor(0.5, n_jobs=n_jobs).fit(X, y)
        with pytest.raises(ValueError, match=re.escape(NOT_THREADS)):
            kreg_pkg.NadarayaWatsonCV([0.5, 1.0], n_jobs=n_jobs).fit(X, y)
        with pytest.raises(ValueError, match=re.escape(NOT_THREADS)):
            kreg_pkg.parallel_map(abs, range(3), n_jobs=n_jobs)
        # n_jobs changed after fit: refused at predict.
        model = kreg_pkg.NadarayaWatsonRegressor(0.5, n_jobs=1).fit(X, y)
        model.set_params(n_jobs=n_jobs)
        with pytest.raises(ValueError, match=re.escape(NOT_THREADS)):
            model.predict(X)
    with pytest.raises(ValueError, match=re.escape(NOT_THREADS)):
        kreg_pkg._kreg.resolve_n_jobs(limit + 1)
    assert kreg_pkg._kreg.resolve_n_jobs(limit) == limit


def test_python_n_jobs_far_below_minus_cores_is_one_thread(kreg_pkg, small):
    _, X, y, _ = small
    expected = kreg_pkg.NadarayaWatsonRegressor(0.5, n_jobs=1).fit(X, y).predict(X)
    for n_jobs in (-1000, -(2**31), -(2**40), -(2**100)):
        model = kreg_pkg.NadarayaWatsonRegressor(0.5, n_jobs=n_jobs).fit(X, y)
        assert model._model.n_jobs == 1
        np.testing.assert_array_equal(model.predict(X), expected)
        assert kreg_pkg.parallel_map(abs, [-1, -2], n_jobs=n_jobs) == [1, 2]


# ---- 5. undefined scores ------------------------------------------------------


def test_cv_with_one_point_folds_scores_nan_with_a_warning(kreg, small, tmp_path):
    """scikit-learn's cross_val_score gives NaN (UndefinedMetricWarning) for
    R^2 of one sample; kreg cv did 0.0 everywhere."""
    root, X, _, _ = small
    train = write_csv(tmp_path / "six.csv", X[:6], np.arange(6.0) ** 2)
    out = tmp_path / "cv.json"
    proc = kreg("cv", "--model", "nw", "--train", train, "--target", "y", "--folds", 6,
                "--out", out)
    assert ("warning: --folds 6 of 6 rows leaves 6 folds of a single row; R^2 of fewer than 2 "
            "rows is undefined") in proc.stderr
    assert "Use at most 3 folds, or --scoring mse or mae" in proc.stderr
    assert "mean r2 nan" in proc.stdout
    result = json.loads(out.read_text())  # NaN is written as null
    assert [f["test_score"] for f in result["folds"]] == [None] * 6
    assert result["mean_test_score"] is None and result["std_test_score"] is None
    # Some folds of one row (7 rows in 4 folds: 2, 2, 2, 1): those score NaN, the others not.
    train7 = write_csv(tmp_path / "seven.csv", X[:7], np.arange(7.0) ** 2)
    proc = kreg("cv", "--model", "nw", "--train", train7, "--target", "y", "--folds", 4,
                "--no-shuffle", "--out", out)
    assert "leaves 1 fold of a single row" in proc.stderr
    scores = [f["test_score"] for f in json.loads(out.read_text())["folds"]]
    assert scores[3] is None and all(isinstance(s, float) for s in scores[:3])
    # mse is defined on one row: no warning, finite scores.
    proc = kreg("cv", "--model", "nw", "--train", train, "--target", "y", "--folds", 6,
                "--scoring", "mse", "--out", out)
    assert "warning" not in proc.stderr
    assert all(math.isfinite(f["test_score"]) for f in json.loads(out.read_text())["folds"])


def test_r2_of_one_row_is_nan_with_a_warning_everywhere(kreg, small, tmp_path):
    """predict's R^2 line, score's r2 and tune --refit's test_r2 on a one-row
    test set: nan (null in JSON) and a warning that says why, as
    scikit-learn's r2_score does; two rows give a number and no warning."""
    root, X, y, train = small
    one = write_csv(tmp_path / "one.csv", X[:1], y[:1])
    two = write_csv(tmp_path / "two.csv", X[:2], y[:2])
    why = "warning: R^2 of 1 row is undefined (it needs at least 2); it is reported as nan"
    proc = kreg("predict", "--train", train, "--target", "y", "--query", one, "--out",
                tmp_path / "p.csv")
    assert "R^2: nan" in proc.stderr and why in proc.stderr
    proc = kreg("predict", "--train", train, "--target", "y", "--query", two, "--out",
                tmp_path / "p.csv")
    assert "R^2: nan" not in proc.stderr and "warning" not in proc.stderr
    proc = kreg("score", "--true", one, "--pred", one, "--target", "y", "--metric", "r2",
                "--json")
    assert json.loads(proc.stdout)["r2"] is None and why in proc.stderr
    out = tmp_path / "tune.json"
    proc = kreg("tune", "--train", train, "--target", "y", "--test", one, "--cv", 5,
                "--bandwidths", "0.5,1", "--refit", tmp_path / "refit.csv", "--out", out,
                "--quiet")
    assert why in proc.stderr
    assert json.loads(out.read_text())["refit"]["test_r2"] is None


def test_tune_refuses_r2_on_one_point_folds(kreg, small, tmp_path):
    root, X, y, _ = small
    train = write_csv(tmp_path / "eight.csv", X[:8], y[:8])
    out = tmp_path / "tune.json"
    proc = kreg("tune", "--train", train, "--target", "y", "--cv", 8, "--bandwidths", "0.3,1,3",
                "--out", out, "--quiet", check=False)
    assert proc.returncode == 2
    assert ("cv = 8 folds of 8 training points leaves a fold of 1 point; R^2 of fewer than 2 "
            "points is undefined (scikit-learn gives NaN), so every bandwidth would score NaN "
            "and none could be called best. Use at most 4 folds, cv = loo") in proc.stderr
    assert not out.exists()
    # What the message offers works.
    for args in (["--cv", "loo"], ["--cv", 4], ["--cv", 8, "--scoring", "mse"]):
        kreg("tune", "--train", train, "--target", "y", "--bandwidths", "0.3,1,3", "--out", out,
             "--quiet", *args)
        result = json.loads(out.read_text())
        assert all(math.isfinite(s) for s in result["cv_results"]["mean_test_score"])
    # A holdout test set of one row.
    test = write_csv(tmp_path / "one.csv", X[8:9], y[8:9])
    proc = kreg("tune", "--train", train, "--target", "y", "--cv", "holdout", "--test", test,
                "--bandwidths", "0.3,1", "--out", out, "--quiet", check=False)
    assert proc.returncode == 2
    assert "the holdout test set has 1 point; R^2 of fewer than 2 points is undefined" in proc.stderr


def test_python_search_refuses_r2_on_one_point_folds(kreg_pkg, small):
    from sklearn.model_selection import KFold, LeaveOneOut, ShuffleSplit

    _, X, y, _ = small
    X, y = X[:10], y[:10]
    for cv in (10, KFold(10), KFold(7, shuffle=True, random_state=0)):
        with pytest.raises(ValueError, match=r"leave a fold of 1 sample; R\^2 of fewer than 2 "
                                             r"samples is undefined .* Use at most 5 folds"):
            kreg_pkg.NadarayaWatsonCV([0.3, 1.0], cv=cv).fit(X, y)
    with pytest.raises(ValueError, match=r"gives a test set of 1 sample; R\^2 of fewer"):
        kreg_pkg.NadarayaWatsonCV([0.3, 1.0], cv=ShuffleSplit(3, test_size=1, random_state=0)
                                  ).fit(X, y)
    with pytest.raises(ValueError, match=r"gives a test set of 1 sample"):
        splits = [(np.arange(1, 10), np.array([0])), (np.arange(0, 5), np.arange(5, 10))]
        kreg_pkg.NadarayaWatsonCV([0.3, 1.0], cv=splits).fit(X, y)
    # What the message offers works: leave-one-out pools its predictions, and
    # the squared error is defined on one sample.
    for search in (kreg_pkg.NadarayaWatsonCV([0.3, 1.0], cv="loo"),
                   kreg_pkg.NadarayaWatsonCV([0.3, 1.0], cv=LeaveOneOut()),
                   kreg_pkg.NadarayaWatsonCV([0.3, 1.0], cv=5),
                   kreg_pkg.NadarayaWatsonCV([0.3, 1.0], cv=10,
                                             scoring="neg_mean_squared_error")):
        search.fit(X, y)
        assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


# ---- 6. finite input near the largest float -------------------------------------


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """Targets in (-1, 1) times 2^1023 (double) or 2^127 (float), the same
    times 2^300 / 2^40 (ordinary), written exactly."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(80, 2))
    u = rng.uniform(-1, 1, size=80)
    root = tmp_path_factory.mktemp("wide")
    files = {}
    for name, e in (("big64", 1023), ("mid64", 300), ("big32", 127), ("mid32", 40)):
        y = np.ldexp(u.astype(np.float32) if name.endswith("32") else u, e)
        files[name] = write_csv(root / f"{name}.csv", X, y, fmt="%.17g")
    return root, X, u, files


@pytest.mark.parametrize("engine", ["reference", "vectorized", "fused", "auto"])
@pytest.mark.parametrize("dtype,big,mid,shift", [("f64", "big64", "mid64", 723),
                                                 ("f32", "big32", "mid32", 87)])
@pytest.mark.parametrize("kernel", ["gaussian", "epanechnikov"])
def test_predict_targets_near_the_largest_value(kreg, wide, tmp_path, engine, dtype, big, mid,
                                                shift, kernel):
    root, _, _, files = wide
    outs = {}
    for name in (big, mid):
        out = tmp_path / f"{name}.csv"
        kreg("predict", "--train", files[name], "--target", "y", "--query", files[name],
             "--engine", engine, "--dtype", dtype, "--kernel", kernel, "--bandwidth", 0.7,
             "--out", out)
        # kreg writes each value's shortest round-trip digits in --dtype's precision.
        outs[name] = read_column(out).astype(np.float32 if dtype == "f32" else np.float64)
    assert np.all(np.isfinite(outs[big]))
    # Power-of-two scaling is exact: the ordinary data's predictions, scaled back.
    np.testing.assert_array_equal(outs[big], np.ldexp(outs[mid], shift))


@pytest.mark.parametrize("dtype,big,mid,shift", [("f64", "big64", "mid64", 723),
                                                 ("f32", "big32", "mid32", 87)])
@pytest.mark.parametrize("cv", ["5", "loo"])
def test_tune_and_cv_with_targets_near_the_largest_value(kreg, wide, tmp_path, dtype, big, mid,
                                                         shift, cv):
    root, _, _, files = wide

    def tune(name, scoring, check=True):
        out = tmp_path / f"{name}-{scoring}.json"
        proc = kreg("tune", "--train", files[name], "--target", "y", "--cv", cv, "--dtype", dtype,
                    "--bandwidths", "0.2,0.7,3", "--scoring", scoring, "--out", out, "--quiet",
                    check=check)
        return proc, (json.loads(out.read_text()) if proc.returncode == 0 else None)

    for scoring, unit in (("r2", 0), ("mae", shift), ("mse", 2 * shift)):
        proc, res = tune(big, scoring, check=False)
        if scoring == "mse" and dtype == "f64":
            # The true MSE (about 1e615) is beyond double: refused, not inf.
            assert proc.returncode == 2
            assert "mean squared error of bandwidth" in proc.stderr
            assert "is beyond the range of double (1.8e308)" in proc.stderr
            continue
        assert proc.returncode == 0, proc.stderr
        _, ref = tune(mid, scoring)
        assert all(math.isfinite(s) for s in res["cv_results"]["mean_test_score"])
        np.testing.assert_allclose(res["cv_results"]["mean_test_score"],
                                   np.ldexp(ref["cv_results"]["mean_test_score"], unit), rtol=1e-15)
        assert res["cv_results"]["rank_test_score"] == ref["cv_results"]["rank_test_score"]
    if dtype == "f64" and cv == "5":
        out = tmp_path / "cv.json"
        kreg("cv", "--model", "nw", "--train", files[big], "--target", "y", "--bandwidth", 0.7,
             "--out", out)
        scores = [f["test_score"] for f in json.loads(out.read_text())["folds"]]
        assert all(isinstance(s, float) and math.isfinite(s) for s in scores)
        proc = kreg("cv", "--model", "nw", "--train", files[big], "--target", "y",
                    "--bandwidth", 0.7, "--scoring", "mse", check=False)
        assert proc.returncode == 2
        assert "the mean squared error is beyond the range of double" in proc.stderr


# scikit-learn's finiteness check sums the array first; near the largest
# float that sum overflows and numpy warns before the check looks closer.
@pytest.mark.filterwarnings("ignore:invalid value encountered in reduce:RuntimeWarning")
@pytest.mark.parametrize("dtype,e", [(np.float64, 1023), (np.float32, 127)])
def test_python_targets_and_weights_near_the_largest_value(kreg_pkg, wide, dtype, e):
    _, X, u, _ = wide
    X = X.astype(dtype)
    u = u.astype(dtype)
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=len(u)).astype(dtype)
    y_big = np.ldexp(u, e)
    w_big = np.ldexp(w * dtype(0.495), e + 1)

    def fit(y, sample_weight=None, **kw):
        return kreg_pkg.NadarayaWatsonRegressor(0.7, dtype=dtype, **kw).fit(
            X, y, sample_weight=sample_weight)

    for engine in ("reference", "vectorized", "fused", "auto"):
        big = fit(y_big, engine=engine).predict(X)
        assert np.all(np.isfinite(big))
        np.testing.assert_array_equal(big, np.ldexp(fit(u, engine=engine).predict(X), e))
        heavy = fit(u, w_big, engine=engine).predict(X)
        np.testing.assert_array_equal(heavy, fit(u, w * dtype(0.495), engine=engine).predict(X))
    # score (R^2) is finite and scale-free.
    model = fit(y_big)
    assert math.isfinite(model.score(X, y_big))
    assert model.score(X, y_big) == pytest.approx(fit(u).score(X, u), rel=1e-6)
    # The search: finite scores, the same ranks as the ordinary data's.
    search = kreg_pkg.NadarayaWatsonCV([0.2, 0.7, 3.0], cv=5, dtype=dtype).fit(X, y_big)
    ref = kreg_pkg.NadarayaWatsonCV([0.2, 0.7, 3.0], cv=5, dtype=dtype).fit(X, u)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    np.testing.assert_array_equal(search.cv_results_["rank_test_score"],
                                  ref.cv_results_["rank_test_score"])
    weighted = kreg_pkg.NadarayaWatsonCV([0.2, 0.7, 3.0], cv="loo", dtype=dtype).fit(
        X, u, sample_weight=w_big)
    assert np.all(np.isfinite(weighted.cv_results_["mean_test_score"]))


# ---- 8. a classifier on a continuous target -------------------------------------


def test_logreg_refuses_a_continuous_target(kreg, small, tmp_path):
    """scikit-learn: "Unknown label type: continuous"; kreg cv treated every
    float as a class of its own."""
    root, X, y, train = small
    proc = kreg("cv", "--model", "logreg", "--train", train, "--target", "y", check=False)
    assert proc.returncode == 2
    assert (f"--model logreg needs class labels, but the target (column 'y' of '{train}') "
            f"holds {float(y[0])!r} in data row 1: a continuous target") in proc.stderr
    assert "Use --model nw to regress it" in proc.stderr
    # A separate target file is named as such; a value beyond int64 is no label either.
    labels = tmp_path / "labels.csv"
    np.savetxt(labels, np.r_[np.zeros(30), np.ones(29), 1e300], header="y", comments="")
    proc = kreg("cv", "--model", "logreg", "--train", train, "--train-y", labels, check=False)
    assert proc.returncode == 2
    assert f"the target (--train-y '{labels}') holds 1e+300 in data row 60" in proc.stderr
    # Whole-number labels stored as floats are classes.
    np.savetxt(labels, np.r_[np.zeros(30), 2.0 * np.ones(30)], header="y", comments="")
    kreg("cv", "--model", "logreg", "--train", train, "--train-y", labels, "--folds", 3)
