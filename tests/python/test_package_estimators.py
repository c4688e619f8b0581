"""The kreg Python package's estimators: scikit-learn's own estimator checks,
use inside GridSearchCV / cross_val_score / Pipeline, agreement with the
tutorial's NW (the oracle, written out below) on 50 random problems, the
one-pass CV against GridSearchCV, dtypes, pickling and thread-safety.

`make test` installs the package into .venv first; run by hand after
`.venv/bin/python -m pip install --no-build-isolation .`.
"""

import copy
import pickle
import threading

import numpy as np
import pytest

from kreg_package import kreg  # skips this module when kreg is not installed

from sklearn.base import clone  # noqa: E402
from sklearn.metrics import pairwise_distances, r2_score  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    KFold,
    LeaveOneOut,
    ShuffleSplit,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402
from sklearn.utils.validation import check_array, check_X_y  # noqa: E402

from kreg import NadarayaWatsonCV, NadarayaWatsonRegressor  # noqa: E402


# ------------------------------------------------------------------ the oracle
# The tutorial's vectorized NW, as written there (seed/parallel-processing-
# tutorial.md, section 3), extended only to 2-D y: (K @ Y) / K.sum(axis=1).
class VectorizedNadarayaWatsonRegressor:
    def __init__(self, bandwidth):
        self.h = bandwidth

    def fit(self, X, y):
        X, y = check_X_y(X, y, multi_output=True)

        self.X_train = X
        self.y_train = y

        return self

    def predict(self, X):
        X = check_array(X)

        # n_eval by n_train kernel matrix.
        kernels = np.exp(-0.5 * pairwise_distances(X, self.X_train) ** 2 / self.h**2)

        # Element-wise division
        if self.y_train.ndim == 2:
            return (kernels @ self.y_train) / kernels.sum(axis=1)[:, None]
        return (kernels @ self.y_train) / kernels.sum(axis=1)


# ------------------------------------------------- scikit-learn's own checks
ESTIMATORS = [
    NadarayaWatsonRegressor(),
    NadarayaWatsonRegressor(bandwidth="scott"),
    NadarayaWatsonRegressor(bandwidth="cv"),
    NadarayaWatsonRegressor(dtype=None),
    NadarayaWatsonRegressor(kernel="tricube"),
    NadarayaWatsonRegressor(engine="vectorized", n_jobs=1),
    NadarayaWatsonCV(),
    NadarayaWatsonCV(cv="loo", scoring="neg_mean_squared_error"),
]


def expected_failed_checks(estimator):
    # check_sample_weight_equivalence_on_dense_data fits once with integer
    # sample weights and once with each row repeated that many times. The
    # kernel sums themselves are equivalent (a weight of 2 counts a point
    # twice, and kreg drops zero-weight points), and the fixed-bandwidth
    # estimators and NadarayaWatsonCV (which follows the check's own
    # group-preserving splits) pass it. Two bandwidth choices are statistics
    # of the sample as given and cannot be:
    if isinstance(estimator, NadarayaWatsonRegressor):
        if estimator.bandwidth in ("scott", "silverman"):
            return {
                "check_sample_weight_equivalence_on_dense_data": (
                    "the rules of thumb use the sample size and the standard deviation of the "
                    "rows as given (weights are not frequencies there): repeating rows "
                    "changes both, and so the bandwidth"
                )
            }
        if estimator.bandwidth == "cv":
            return {
                "check_sample_weight_equivalence_on_dense_data": (
                    "bandwidth='cv' runs KFold(5) on the rows: repeated rows land in "
                    "different folds (and are scored once per copy), so the chosen "
                    "bandwidth differs from the weighted fit's; NadarayaWatsonCV takes the "
                    "check's group-preserving splits and passes"
                )
            }
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ----------------------------------------------------------------- helpers
def tutorial_split(n=2000, d=10, seed=123):
    X, y = kreg.generate_data(n, d, seed)
    return train_test_split(X, y, test_size=0.2, random_state=42)


# ------------------------------------------------------ agreement with oracle
@pytest.mark.parametrize("problem", range(50))
def test_agrees_with_tutorial_oracle(problem):
    rng = np.random.default_rng(1000 + problem)
    n = int(rng.integers(1, 400))
    m = int(rng.integers(1, 200))
    d = int(rng.integers(1, 12))
    k = int(rng.integers(1, 4))
    scale = 10.0 ** rng.uniform(-2, 2)
    X = rng.normal(size=(n, d)) * scale + rng.normal(size=d) * scale
    Z = rng.normal(size=(m, d)) * scale + X.mean(axis=0)
    y = rng.normal(size=(n, k)) if problem % 2 else rng.normal(size=n)
    # Bandwidths where the oracle's weights do not all underflow (it returns
    # NaN there, which kreg never does), from a tenth of the typical distance up.
    typical = np.sqrt(np.median(pairwise_distances(Z, X) ** 2))
    h = typical * 10.0 ** rng.uniform(-0.6, 1.5)
    expected = VectorizedNadarayaWatsonRegressor(h).fit(X, y).predict(Z)
    assert np.all(np.isfinite(expected)), "oracle underflowed; pick a larger bandwidth"
    got = NadarayaWatsonRegressor(h).fit(X, y).predict(Z)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * np.abs(y).max())


def test_tutorial_numbers():
    # The tutorial's demo: R^2 0.7880181382483237 at bandwidth 0.5.
    X_train, X_test, y_train, y_test = tutorial_split(10000)
    pred = NadarayaWatsonRegressor(bandwidth=0.5).fit(X_train, y_train).predict(X_test)
    assert r2_score(y_test, pred) == pytest.approx(0.7880181382483237, abs=1e-12)


@pytest.mark.parametrize("kernel", ["epanechnikov", "tricube", "uniform"])
def test_compact_kernels_against_numpy(kernel):
    rng = np.random.default_rng(7)
    X, y, Z = rng.normal(size=(300, 3)), rng.normal(size=300), rng.normal(size=(50, 3))
    h = 2.5
    u = np.sqrt(pairwise_distances(Z, X) ** 2) / h
    w = {
        "epanechnikov": np.clip(1 - u**2, 0, None),
        "tricube": np.clip(1 - u**3, 0, None) ** 3,
        "uniform": (u <= 1).astype(float),
    }[kernel]
    assert np.all(w.sum(axis=1) > 0)
    got = NadarayaWatsonRegressor(h, kernel).fit(X, y).predict(Z)
    np.testing.assert_allclose(got, (w @ y) / w.sum(axis=1), rtol=1e-9, atol=1e-12)


def test_no_nan_where_the_tutorial_gets_nan():
    # The tutorial's joblib grid died of "Input contains NaN" at h = 0.1: by
    # then X_train held MNIST pixels (0..255), so every exp(-d^2 / 2h^2)
    # underflowed to 0 and K y / K 1 was 0/0. Pixel-like scales do the same.
    X_train, X_test, y_train, _ = tutorial_split(2000)
    X_train, X_test = 100 * X_train, 100 * X_test
    with np.errstate(all="ignore"):
        oracle = VectorizedNadarayaWatsonRegressor(0.1).fit(X_train, y_train).predict(X_test)
    assert np.isnan(oracle).all()
    pred = NadarayaWatsonRegressor(0.1).fit(X_train, y_train).predict(X_test)
    assert np.all(np.isfinite(pred))
    # The limit h -> 0: the target of the nearest training point.
    nearest = pairwise_distances(X_test, X_train).argmin(axis=1)
    np.testing.assert_array_equal(pred, y_train[nearest])


# ------------------------------------------------------------ scikit-learn use
def test_grid_search_cv_cross_val_score_and_pipeline():
    X_train, X_test, y_train, y_test = tutorial_split(600)
    grid = {"bandwidth": [0.3, 1.0, 3.0]}
    search = GridSearchCV(NadarayaWatsonRegressor(), grid, cv=3).fit(X_train, y_train)
    assert search.best_params_["bandwidth"] in grid["bandwidth"]
    assert search.score(X_test, y_test) > 0.5

    scores = cross_val_score(NadarayaWatsonRegressor(1.0), X_train, y_train, cv=4)
    assert scores.shape == (4,) and np.all(scores > 0.3)
    # In joblib's worker processes (estimators and fitted ones pickled across).
    in_processes = cross_val_score(NadarayaWatsonRegressor(1.0), X_train, y_train, cv=4, n_jobs=2)
    np.testing.assert_array_equal(in_processes, scores)

    pipe = make_pipeline(StandardScaler(), NadarayaWatsonRegressor(bandwidth="silverman"))
    pipe.fit(X_train, y_train)
    assert pipe.score(X_test, y_test) > 0.5
    # A pipeline inside a grid search, with the estimator's parameters routed.
    search = GridSearchCV(pipe, {"nadarayawatsonregressor__bandwidth": [0.5, 2.0]}, cv=3)
    search.fit(X_train, y_train)
    assert search.best_estimator_.steps[-1][1].bandwidth in (0.5, 2.0)

    # A CV estimator inside cross_val_score: nested cross-validation.
    outer = cross_val_score(NadarayaWatsonCV(np.logspace(-1, 1, 5), cv=3), X_train, y_train, cv=3)
    assert np.all(outer > 0.3)


@pytest.mark.parametrize("scoring", ["r2", "neg_mean_squared_error", "neg_mean_absolute_error"])
@pytest.mark.parametrize(
    "cv", [5, KFold(4, shuffle=True, random_state=3), ShuffleSplit(3, random_state=0)]
)
def test_cv_matches_grid_search_cv(cv, scoring):
    X_train, _, y_train, _ = tutorial_split(500)
    grid = np.logspace(-1, 1.5, 12)
    ours = NadarayaWatsonCV(grid, cv=cv, scoring=scoring).fit(X_train, y_train)
    theirs = GridSearchCV(
        NadarayaWatsonRegressor(), {"bandwidth": grid}, cv=cv, scoring=scoring
    ).fit(X_train, y_train)
    r, t = ours.cv_results_, theirs.cv_results_
    n_splits = theirs.n_splits_
    assert ours.n_splits_ == n_splits
    for key in [f"split{s}_test_score" for s in range(n_splits)] + [
        "mean_test_score",
        "std_test_score",
    ]:
        np.testing.assert_allclose(r[key], t[key], rtol=1e-9, atol=1e-12, err_msg=key)
    np.testing.assert_array_equal(r["rank_test_score"], t["rank_test_score"])
    np.testing.assert_array_equal(r["param_bandwidth"], t["param_bandwidth"])
    assert r["params"] == [{"bandwidth": float(h)} for h in grid]
    assert ours.best_index_ == theirs.best_index_
    assert ours.best_bandwidth_ == theirs.best_params_["bandwidth"] == ours.bandwidth_
    assert ours.best_params_ == {"bandwidth": ours.best_bandwidth_}
    assert ours.best_score_ == pytest.approx(theirs.best_score_, rel=1e-9)
    np.testing.assert_allclose(
        ours.predict(X_train), theirs.best_estimator_.predict(X_train), rtol=1e-12
    )


def test_cv_leave_one_out_pools_the_predictions():
    X_train, _, y_train, _ = tutorial_split(300)
    grid = [0.5, 1.0, 2.0]
    ours = NadarayaWatsonCV(grid, cv="loo").fit(X_train, y_train)
    assert ours.n_splits_ == 1 and set(ours.cv_results_) >= {"split0_test_score"}
    same = NadarayaWatsonCV(grid, cv=LeaveOneOut()).fit(X_train, y_train)
    np.testing.assert_array_equal(same.cv_results_["mean_test_score"], ours.cv_results_["mean_test_score"])
    # Pooled LOO r2: every point predicted from all the others.
    for h, score in zip(grid, ours.cv_results_["mean_test_score"]):
        pred = np.array(
            [
                NadarayaWatsonRegressor(h).fit(np.delete(X_train, i, 0), np.delete(y_train, i))
                .predict(X_train[i : i + 1])[0]
                for i in range(len(y_train))
            ]
        )
        assert score == pytest.approx(r2_score(y_train, pred), rel=1e-10)


def test_bandwidth_cv_path_and_default_grid():
    X_train, X_test, y_train, y_test = tutorial_split(800)
    model = NadarayaWatsonRegressor(bandwidth="cv").fit(X_train, y_train)
    search = NadarayaWatsonCV().fit(X_train, y_train)
    assert model.bandwidth_ == search.best_bandwidth_
    np.testing.assert_array_equal(
        model.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
    )
    assert len(search.cv_results_["params"]) == 25
    rule = kreg.rule_of_thumb_bandwidth(X_train, "silverman")
    center = np.exp(np.mean(np.log(rule)))
    h = search.cv_results_["param_bandwidth"]
    assert h[12] == pytest.approx(center, rel=1e-12)
    assert h[0] == pytest.approx(center / 10**1.5) and h[-1] == pytest.approx(center * 10**1.5)
    assert model.score(X_test, y_test) > 0.6


# ------------------------------------------------------ parameters and shapes
def test_bandwidth_forms():
    X_train, X_test, y_train, _ = tutorial_split(500)
    for rule in ("scott", "silverman"):
        m = NadarayaWatsonRegressor(rule).fit(X_train, y_train)
        np.testing.assert_array_equal(m.bandwidth_, kreg.rule_of_thumb_bandwidth(X_train, rule))
    per_feature = np.linspace(0.5, 2.0, X_train.shape[1])
    m = NadarayaWatsonRegressor(per_feature).fit(X_train, y_train)
    np.testing.assert_array_equal(m.bandwidth_, per_feature)
    # Per-feature bandwidths are the same as scaling the features.
    scaled = NadarayaWatsonRegressor(1.0).fit(X_train / per_feature, y_train)
    np.testing.assert_allclose(
        m.predict(X_test), scaled.predict(X_test / per_feature), rtol=1e-9, atol=1e-12
    )
    assert NadarayaWatsonRegressor([0.7]).fit(X_train, y_train).bandwidth_ == 0.7
    for bad in (0, -1.0, np.inf, "auto", [1.0, 2.0], [[1.0]], [0.0] * X_train.shape[1], True):
        with pytest.raises(ValueError, match="bandwidth"):
            NadarayaWatsonRegressor(bad).fit(X_train, y_train)


def test_invalid_parameters_raise_value_error():
    X, y = kreg.generate_data(50, 3, 0)
    cases = [
        (NadarayaWatsonRegressor(kernel="box"), "unknown kernel 'box'"),
        (NadarayaWatsonRegressor(engine="gpu"), "unknown engine 'gpu'"),
        (NadarayaWatsonRegressor(n_jobs=0), "n_jobs"),
        (NadarayaWatsonRegressor(n_jobs=1.5), "n_jobs"),
        (NadarayaWatsonRegressor(dtype=np.int32), "dtype"),
        (NadarayaWatsonCV(cv=1), "cv"),
        (NadarayaWatsonCV(cv="holdout"), "cv"),
        (NadarayaWatsonCV(cv=100), "n_splits=100 greater than the number of samples"),
        (NadarayaWatsonCV(scoring="accuracy"), "scoring"),
        (NadarayaWatsonCV(bandwidths=[1.0, -1.0]), "bandwidth"),
        (NadarayaWatsonCV(bandwidths=0), "bandwidths"),
    ]
    for estimator, message in cases:
        with pytest.raises(ValueError, match=message):
            estimator.fit(X, y)


def test_multi_output_shapes():
    rng = np.random.default_rng(3)
    X, Z = rng.normal(size=(100, 4)), rng.normal(size=(7, 4))
    Y = rng.normal(size=(100, 3))
    m = NadarayaWatsonRegressor().fit(X, Y)
    assert m.predict(Z).shape == (7, 3) and m.n_outputs_ == 3
    # Each output equals a single-output fit.
    for c in range(3):
        single = NadarayaWatsonRegressor().fit(X, Y[:, c]).predict(Z)
        assert single.shape == (7,)
        np.testing.assert_allclose(m.predict(Z)[:, c], single, rtol=1e-12)
    assert NadarayaWatsonRegressor().fit(X, Y[:, :1]).predict(Z).shape == (7, 1)
    cv = NadarayaWatsonCV([0.5, 1, 2]).fit(X, Y)
    assert cv.predict(Z).shape == (7, 3)


def test_dtype_policy():
    rng = np.random.default_rng(4)
    X64, y = rng.normal(size=(200, 5)), rng.normal(size=200)
    X32 = X64.astype(np.float32)
    Xint = (X64 * 10).astype(np.int64)
    # Default: float64 computation and output, whatever the input.
    for X in (X64, X32, Xint):
        assert NadarayaWatsonRegressor().fit(X, y).predict(X).dtype == np.float64
    # float32: float32 throughout.
    m = NadarayaWatsonRegressor(dtype="float32").fit(X64, y)
    assert m.predict(X64).dtype == np.float32
    assert NadarayaWatsonRegressor(dtype=np.float32).fit(X32, y).predict(X32).dtype == np.float32
    # None: float32 input stays float32; other input becomes float64.
    assert NadarayaWatsonRegressor(dtype=None).fit(X32, y).predict(X32).dtype == np.float32
    assert NadarayaWatsonRegressor(dtype=None).fit(X64, y).predict(X32).dtype == np.float64
    assert NadarayaWatsonRegressor(dtype=None).fit(Xint, y).predict(Xint).dtype == np.float64
    # float32 agrees with float64 to float32's precision.
    np.testing.assert_allclose(
        m.predict(X64), NadarayaWatsonRegressor().fit(X64, y).predict(X64), rtol=1e-4, atol=1e-5
    )
    assert NadarayaWatsonCV([0.5, 1.0], dtype="float32").fit(X64, y).predict(X64).dtype == np.float32


def test_no_copy_into_cpp(monkeypatch):
    """C-contiguous float64 (and float32 for a float32 model) arrays reach C++
    without a copy: the Python layer hands over the caller's own array (the
    same object), and the extension refuses (TypeError) instead of copying an
    array of another dtype or layout, and sees the same data address numpy
    has. Other inputs are converted exactly once, by check_array. What this
    does not show: that C++ itself makes no working copy (it does, on
    purpose: NadarayaWatson::fit stores a centred copy of the training set,
    and predict a centred copy of the queries)."""
    from kreg import _kreg

    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(100, 4)), rng.normal(size=100)
    Z = rng.normal(size=(20, 4))
    assert _kreg._data_address(Z) == Z.ctypes.data
    Z32 = Z.astype(np.float32)
    assert _kreg._data_address(Z32) == Z32.ctypes.data
    for not_allowed in (np.asfortranarray(Z), Z[:, ::2], Z.astype(np.int64), Z[None]):
        with pytest.raises(TypeError):
            _kreg._data_address(not_allowed)

    seen = []
    model = NadarayaWatsonRegressor().fit(X, y)
    assert model._fit_X is X  # fit kept the caller's array: no copy
    real = model._model

    class Spy:
        def predict(self, array, *args):
            seen.append(array)
            return real.predict(array, *args)

    monkeypatch.setattr(model, "_model", Spy())
    pred = model.predict(Z)
    assert seen[-1] is Z
    # The result is kreg's own buffer, not a copy: numpy does not own it.
    assert not pred.flags.owndata and pred.base is not None
    model.predict(np.asfortranarray(Z))
    assert seen[-1] is not Z and seen[-1].flags.c_contiguous
    model32 = NadarayaWatsonRegressor(dtype="float32").fit(X, y)
    real = model32._model
    monkeypatch.setattr(model32, "_model", Spy())
    model32.predict(Z32)
    assert seen[-1] is Z32


# ------------------------------------------------------ pickling and copying
@pytest.mark.parametrize(
    "estimator",
    [
        NadarayaWatsonRegressor(0.7),
        NadarayaWatsonRegressor("scott", dtype="float32"),
        NadarayaWatsonCV([0.3, 1.0, 3.0], cv=3),
        NadarayaWatsonRegressor(0.5, kernel="epanechnikov", engine="reference", n_jobs=1),
    ],
)
def test_pickle_and_copy_predict_identically(estimator):
    X_train, X_test, y_train, _ = tutorial_split(400)
    fitted = estimator.fit(X_train, y_train)
    expected = fitted.predict(X_test)
    copies = [
        pickle.loads(pickle.dumps(fitted)),
        copy.deepcopy(fitted),
        copy.copy(fitted),
        pickle.loads(pickle.dumps(pickle.loads(pickle.dumps(fitted)))),
    ]
    for c in copies:
        np.testing.assert_array_equal(c.predict(X_test), expected)
        assert c.get_params() == fitted.get_params()
    # The original still works after being pickled.
    np.testing.assert_array_equal(fitted.predict(X_test), expected)
    # An unfitted estimator pickles too; clone drops the fitted state.
    assert not hasattr(pickle.loads(pickle.dumps(clone(estimator))), "bandwidth_")
    if isinstance(fitted, NadarayaWatsonCV):
        c = copies[0]
        assert c.best_bandwidth_ == fitted.best_bandwidth_
        np.testing.assert_array_equal(
            c.cv_results_["mean_test_score"], fitted.cv_results_["mean_test_score"]
        )


def test_n_jobs_changed_after_fit():
    X_train, X_test, y_train, _ = tutorial_split(400)
    m = NadarayaWatsonRegressor(0.5, n_jobs=1).fit(X_train, y_train)
    expected = m.predict(X_test)
    m.set_params(n_jobs=2)
    np.testing.assert_array_equal(m.predict(X_test), expected)  # never depends on n_jobs


# ------------------------------------------------------------ thread-safety
@pytest.mark.parametrize("engine", ["fused", "vectorized"])
def test_one_fitted_estimator_many_threads(engine):
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(3000, 6)), rng.normal(size=(3000, 2))
    model = NadarayaWatsonRegressor(0.8, engine=engine, n_jobs=2).fit(X, Y)
    queries = [rng.normal(size=(int(rng.integers(1, 3000)), 6)) for _ in range(16)]
    expected = [model.predict(Z) for Z in queries]
    results = [None] * len(queries)
    errors = []
    barrier = threading.Barrier(8)

    def work(t):
        try:
            barrier.wait()
            for i in range(t, len(queries), 8):
                for _ in range(3):
                    results[i] = model.predict(queries[i])
                    np.testing.assert_array_equal(results[i], expected[i])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert not errors, errors
    for r, e in zip(results, expected):
        np.testing.assert_array_equal(r, e)


# ------------------------------------------------------------------ engines
@pytest.mark.parametrize("engine", ["auto", "fused", "vectorized", "reference"])
def test_engine_attribute_names_the_engine_that_runs(engine):
    X, _, y, _ = tutorial_split(n=300)
    model = NadarayaWatsonRegressor(0.5, engine=engine, device="cpu").fit(X, y)
    # "auto" takes the first engine that supports the call: fused on the CPU.
    assert model.engine_ == ("fused" if engine == "auto" else engine)
    search = NadarayaWatsonCV(bandwidths=[0.3, 1.0], engine=engine, device="cpu").fit(X, y)
    assert search.engine_ == model.engine_


def test_an_unknown_engine_lists_the_registered_ones():
    X, _, y, _ = tutorial_split(n=50)
    names = [name for name, _ in kreg.available_engines()]
    listed = ", ".join(["auto"] + names[:-1]) + " or " + names[-1]
    with pytest.raises(ValueError, match="choose " + listed):
        NadarayaWatsonRegressor(engine="no-such-engine").fit(X, y)


def test_available_engines_match_kreg_info(kreg_bin):
    import json
    import subprocess

    info = json.loads(subprocess.run([kreg_bin, "info", "--json"], check=True,
                                     capture_output=True, text=True).stdout)
    assert kreg.available_engines() == [(e["name"], e["device"]) for e in info["engines"]]
    # auto is the first of them that can run here (the CUDA engine, listed
    # first where built, declines where there is no CUDA device).
    X, _, y, _ = tutorial_split(n=50)
    cuda_usable = info["cuda"]["engine"]["usable"]
    first = [name for name, device in kreg.available_engines() if cuda_usable or device == "cpu"][0]
    assert NadarayaWatsonRegressor().fit(X, y).engine_ == first
