"""kreg.KernelRegression as a scikit-learn estimator and against the
definitions written out in numpy:

  * scikit-learn's conventions: get_params / set_params / clone / pickle,
    and scikit-learn's own estimator checks;
  * errors with messages that say what is wrong and how to fix it;
  * IsolatedQueriesWarning (compact kernels) and RankDeficientQueriesWarning
    (ll without enough spread in the window), with finite results;
  * the same bits for n_jobs 1 and 2: predict, gradient, criteria, bootstrap;
  * bootstrap standard errors: positive, finite, shrinking about like
    1/sqrt(n);
  * np's nearest-neighbour bandwidths (generalized_nn, adaptive_nn) against
    their definitions (kreg/kernel_regression.hpp) in numpy, with and without
    discrete columns;
  * lc gradients of the compact kernels and of adaptive_nn against finite
    differences of the fit (statsmodels has neither);
  * engine="fused" (the Nadaraya-Watson engines' weighted means) against
    the local engine: predict, gradient, loo_predict, criteria, selection;
  * extremes: tiny and huge bandwidths and data far from the origin against
    the analytic limits (nearest point's y; the mean of y for lc and the
    ordinary least-squares fit for ll).
"""

import pickle
import warnings

import numpy as np
import pytest

from kreg_package import kreg  # noqa: F401 (skips this module when kreg is not installed)

from sklearn.base import clone  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from kreg import (  # noqa: E402
    IsolatedQueriesWarning,
    KernelRegression,
    RankDeficientQueriesWarning,
)


def problem(n=120, d=2, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, d))
    y = np.sin(X[:, 0]) + 0.5 * X[:, -1] ** 2 + 0.2 * rng.standard_normal(n)
    return X + shift, y


def mixed_problem(n=100, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 3, n)
    o = rng.integers(0, 4, n).astype(float)
    u = rng.integers(0, 3, n).astype(float)
    y = np.cos(x) + 0.3 * o - 0.4 * (u == 1) + 0.2 * rng.standard_normal(n)
    return np.column_stack([x, o, u]), y


def close(actual, expected, rtol):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    scale = max(np.abs(expected).max(), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


# ------------------------------------------------- scikit-learn conventions
def test_params_clone_and_pickle_round_trip():
    X, y = mixed_problem()
    model = KernelRegression(reg_type="lc", var_type="cou", bandwidth=[0.4, 0.3, 0.2], n_jobs=1)
    params = model.get_params()
    assert params["reg_type"] == "lc" and params["var_type"] == "cou"
    assert set(params) == {
        "reg_type", "var_type", "bandwidth", "kernel", "discrete_kernels", "bwtype", "n_jobs",
        "restarts", "engine", "device",
    }
    model.set_params(reg_type="ll")
    assert model.reg_type == "ll"
    model.fit(X, y)
    Z = X[:20] + np.array([0.05, 0, 0])
    twin = clone(model)
    assert twin.get_params() == model.get_params() and not hasattr(twin, "bandwidth_")
    twin.fit(X, y)
    np.testing.assert_array_equal(twin.predict(Z), model.predict(Z))
    back = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(back.predict(Z), model.predict(Z))
    np.testing.assert_array_equal(back.gradient(Z), model.gradient(Z))
    np.testing.assert_array_equal(back.bandwidth_, model.bandwidth_)


def test_selected_bandwidth_survives_pickle():
    X, y = problem(n=60)
    model = KernelRegression(reg_type="ll").fit(X, y)
    back = pickle.loads(pickle.dumps(model))
    assert back.criterion_ == model.criterion_ and back.n_evaluations_ == model.n_evaluations_
    np.testing.assert_array_equal(back.predict(X), model.predict(X))


ESTIMATORS = [
    KernelRegression(reg_type="ll", n_jobs=1),
    KernelRegression(reg_type="lc", bandwidth="aic", n_jobs=1),
    KernelRegression(reg_type="ll", bandwidth=1.0, n_jobs=1),
]


def expected_failed_checks(estimator):
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        # scikit-learn's checks fit tiny and degenerate data on purpose.
        warnings.simplefilter("ignore", RankDeficientQueriesWarning)
        warnings.simplefilter("ignore", IsolatedQueriesWarning)
        check(estimator)


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "params, match",
    [
        ({"reg_type": "loclin"}, r"'reg_type' parameter of KernelRegression must be one of 'll'"),
        ({"var_type": "cc"}, r"var_type 'cc' has 2 letters but X has 3 columns"),
        ({"var_type": "cox"}, r"var_type 'cox': character 3 is 'x'; use one letter per column"),
        ({"var_type": 3}, r"'var_type' parameter of KernelRegression must be a str"),
        ({"bandwidth": [0.5, 0.3]}, r"bandwidth has shape \(2,\); give 'cv_ls', 'aic', one"),
        ({"bandwidth": "silverman"}, r"'bandwidth' parameter of KernelRegression must be one of"),
        ({"bandwidth": [0.5, 1.5, 0.3]}, r"bandwidth 1.5 of ordered column 1 must lie in \[0, 1\]"),
        ({"bandwidth": [0.5, 0.3, 0.8]},
         r"bandwidth 0.8 of unordered column 2 must lie in \[0, 0.66+7?\] "
         r"\(Aitchison-Aitken with 3 levels"),
        ({"bandwidth": [0.5, -0.1, 0.3]}, r"bandwidth -0.1 of ordered column 1 must lie in"),
        ({"bandwidth": [0.0, 0.3, 0.3]},
         r"bandwidth 0 of continuous column 0 must be finite and > 0"),
        ({"bandwidth": [2.5, 0.3, 0.3], "bwtype": "generalized_nn"},
         r"whole number of neighbours k in \[1, 99\] for bwtype generalized_nn"),
        ({"kernel": "cosine"}, r"'kernel' parameter of KernelRegression must be one of"),
        ({"bwtype": "knn"}, r"'bwtype' parameter of KernelRegression must be one of"),
        ({"discrete_kernels": "np"}, r"'discrete_kernels' parameter of KernelRegression"),
        ({"restarts": -1}, r"'restarts' parameter of KernelRegression must be an int >= 0"),
        ({"engine": "fused"},
         r"engine 'fused' on device 'auto' cannot fit this kernel regression: the "
         r"Nadaraya-Watson engines take continuous columns only"),
        ({"engine": "turbo"}, r"unknown engine 'turbo'; choose auto, .*fused"),
        ({"engine": 1}, r"'engine' parameter of KernelRegression must be a str"),
        ({"device": "tpu"}, r"device"),
    ],
)
def test_bad_parameters_say_what_to_fix(params, match):
    X, y = mixed_problem()
    base = {"var_type": "cou", "bandwidth": [0.5, 0.3, 0.3]}
    with pytest.raises(ValueError, match=match):
        KernelRegression(**{**base, **params}).fit(X, y)


@pytest.mark.parametrize("where", ["X", "y", "Z"])
def test_nan_input_is_refused(where):
    X, y = problem(n=30)
    model = KernelRegression(bandwidth=0.5)
    if where == "X":
        X = X.copy()
        X[3, 1] = np.nan
    elif where == "y":
        y = y.copy()
        y[4] = np.nan
    if where != "Z":
        with pytest.raises(ValueError, match="NaN"):
            model.fit(X, y)
        return
    model.fit(X, y)
    Z = X[:5].copy()
    Z[2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.predict(Z)


def test_selection_with_a_single_level_unordered_column():
    # Aitchison-Aitken's range is [0, 0] for one level: lambda stays 0.
    X, y = problem(n=40)
    X[:, 1] = 3.0
    model = KernelRegression(var_type="cu").fit(X, y)
    assert model.bandwidth_[1] == 0.0 and np.isfinite(model.predict(X)).all()


def test_bootstrap_arguments_are_checked():
    X, y = problem(n=30)
    model = KernelRegression(bandwidth=0.5).fit(X, y)
    with pytest.raises(ValueError, match="n_boot must be an int >= 2"):
        model.bootstrap(X[:3], n_boot=1)
    with pytest.raises(ValueError, match="random_state must be an int >= 0"):
        model.bootstrap(X[:3], random_state=-1)


# ----------------------------------------------------------------- warnings
@pytest.mark.parametrize("reg", ["lc", "ll"])
def test_isolated_queries_warn_and_stay_finite(reg):
    X, y = problem(n=50)
    model = KernelRegression(reg_type=reg, kernel="epanechnikov", bandwidth=0.8).fit(X, y)
    Z = np.vstack([X[:5], [[10.0, 10.0], [-9.0, 3.0]]])
    with pytest.warns(IsolatedQueriesWarning, match="2 of 7 queries had no training point") as rec:
        mean = model.predict(Z)
    assert [w.message.count for w in rec if w.category is IsolatedQueriesWarning] == [2]
    assert np.isfinite(mean).all()
    # The nearest training point's y (scaled distance: one point is nearest).
    for i, z in ((5, Z[5]), (6, Z[6])):
        assert mean[i] == y[np.argmin(((X - z) ** 2).sum(axis=1))]


@pytest.mark.parametrize("reg", ["lc", "ll"])
def test_fused_engine_gives_the_local_engines_fits(reg):
    X, y = problem(n=300, d=3, seed=5)
    Z, _ = problem(n=50, d=3, seed=6)
    local = KernelRegression(reg_type=reg, bandwidth=[0.6, 0.7, 0.8]).fit(X, y)
    fused = KernelRegression(reg_type=reg, bandwidth=[0.6, 0.7, 0.8], engine="fused").fit(X, y)
    close(fused.predict(Z), local.predict(Z), 1e-9)
    close(fused.gradient(Z), local.gradient(Z), 1e-8)
    close(fused.loo_predict(), local.loo_predict(), 1e-9)
    cl, cf = local.criteria(), fused.criteria()
    assert cf["cv_ls"] == pytest.approx(cl["cv_ls"], rel=1e-9)
    assert cf["aic"] == cl["aic"]  # aic runs on the local engine either way
    sel_l = KernelRegression(reg_type=reg).fit(X, y)
    sel_f = KernelRegression(reg_type=reg, engine="fused").fit(X, y)
    assert sel_f.criterion_ == pytest.approx(sel_l.criterion_, rel=1e-7)


def test_rank_deficient_ll_warns_for_collinear_columns():
    """Two collinear columns: one slope is unidentified everywhere."""
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, 60)
    X = np.column_stack([x, 2 * x + 1])
    y = np.sin(2 * x) + 0.1 * rng.standard_normal(60)
    model = KernelRegression(reg_type="ll", bandwidth=[0.3, 0.6]).fit(X, y)
    with pytest.warns(RankDeficientQueriesWarning, match="60 of 60 local-linear queries") as rec:
        mean = model.predict(X)
    assert rec[0].message.count == 60
    with pytest.warns(RankDeficientQueriesWarning):
        grad = model.gradient(X)
    assert np.isfinite(mean).all() and np.isfinite(grad).all()
    # x2 = 2 x1 + 1 adds nothing to the local design: the fit is the
    # one-column ll fit with the product kernel's weights, whose bandwidth
    # is 1 / sqrt(1 / 0.3^2 + 2^2 / 0.6^2) = 0.3 / sqrt(2).
    one = KernelRegression(reg_type="ll", bandwidth=[0.3 / np.sqrt(2)]).fit(x[:, None], y)
    close(mean, one.predict(x[:, None]), 1e-9)


def test_rank_deficient_ll_in_narrow_windows():
    """A column constant within narrow windows (it changes in steps wider
    than the bandwidth): ll cannot fit a slope along it there."""
    rng = np.random.default_rng(5)
    n = 80
    X = np.column_stack([rng.uniform(0, 4, n), np.floor(np.linspace(0, 4, n, endpoint=False))])
    y = X[:, 0] + X[:, 1] + 0.1 * rng.standard_normal(n)
    model = KernelRegression(reg_type="ll", kernel="epanechnikov", bandwidth=[0.5, 0.2]).fit(X, y)
    with pytest.warns(RankDeficientQueriesWarning) as rec:
        mean = model.predict(X)
        grad = model.gradient(X)
    assert rec[0].message.count == n
    assert np.isfinite(mean).all() and np.isfinite(grad).all()
    np.testing.assert_array_equal(grad[:, 1], 0.0)


# ----------------------------------------------------------- thread counts
@pytest.mark.parametrize("reg", ["lc", "ll"])
@pytest.mark.parametrize("bwtype", ["fixed", "adaptive_nn"])
def test_same_bits_for_one_and_two_jobs(reg, bwtype):
    X, y = mixed_problem(n=150)
    bw = [0.4, 0.3, 0.2] if bwtype == "fixed" else [15, 0.3, 0.2]
    Z = X[::3] + np.array([0.01, 0, 0])
    out = {}
    for jobs in (1, 2):
        m = KernelRegression(reg_type=reg, var_type="cou", bandwidth=bw, bwtype=bwtype,
                             n_jobs=jobs).fit(X, y)
        out[jobs] = (m.predict(Z), m.gradient(Z), m.loo_predict(), m.criteria(),
                     m.bootstrap(Z, n_boot=20, random_state=7, gradients=True))
    a, b = out[1], out[2]
    for i in range(3):
        np.testing.assert_array_equal(a[i], b[i])
    assert a[3] == b[3]
    for key in ("mean_se", "gradient_se"):
        np.testing.assert_array_equal(a[4][key], b[4][key])


def test_selection_is_the_same_for_one_and_two_jobs():
    X, y = mixed_problem(n=80)
    a = KernelRegression(var_type="cou", n_jobs=1).fit(X, y)
    b = KernelRegression(var_type="cou", n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(a.bandwidth_, b.bandwidth_)
    assert a.criterion_ == b.criterion_


# ---------------------------------------------------------------- bootstrap
@pytest.mark.parametrize("reg", ["lc", "ll"])
def test_bootstrap_standard_errors_shrink_like_one_over_sqrt_n(reg):
    """At a fixed bandwidth the fit's variance falls like 1/n: 16 times the
    data should quarter the standard errors (loosely: the median ratio over
    the interior queries between 3 and 5.3; seeds 0-2 give 3.8-4.4)."""
    Z = np.array([[x0, x1] for x0 in (-1, 0, 1) for x1 in (-1, 0, 1)], float)
    se = {}
    for n in (200, 3200):
        X, y = problem(n=n, seed=n)
        model = KernelRegression(reg_type=reg, bandwidth=[0.5, 0.5]).fit(X, y)
        out = model.bootstrap(Z, n_boot=200, random_state=1, gradients=True)
        assert out["replicates"] == 200
        for key in ("mean_se", "gradient_se"):
            assert np.isfinite(out[key]).all() and (out[key] > 0).all()
        se[n] = out["mean_se"]
    ratio = np.median(se[200] / se[3200])
    assert 3 < ratio < 5.3, ratio


def test_bootstrap_depends_on_the_seed_only():
    X, y = problem(n=80)
    model = KernelRegression(bandwidth=[0.5, 0.5]).fit(X, y)
    a = model.bootstrap(X[:5], n_boot=30, random_state=3)["mean_se"]
    b = model.bootstrap(X[:5], n_boot=30, random_state=3)["mean_se"]
    c = model.bootstrap(X[:5], n_boot=30, random_state=4)["mean_se"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# ------------------------------------------- nearest-neighbour bandwidths
def kth_distance(values, v, k, skip_self=False):
    """np's k-th nearest distance, as kreg/kernel_regression.hpp defines it:
    the k-th smallest |v - value|, one zero (the point itself) left out when
    skip_self, and a zero k-th distance (ties) replaced by the next larger."""
    dist = np.sort(np.abs(values - v))
    if skip_self:
        dist = dist[1:]
    h = dist[k - 1]
    return h if h > 0 else dist[dist > 0][0]


def local_fit(X, y, z, logw, reg):
    """The lc or ll fit at z with weights exp(logw), shifted by their largest
    (far queries with small k would underflow every weight otherwise)."""
    w = np.exp(logw - logw.max())
    if reg == "lc":
        return w @ y / w.sum()
    A = np.column_stack([np.ones(X.shape[0]), X - z]) * np.sqrt(w)[:, None]
    return np.linalg.lstsq(A, y * np.sqrt(w), rcond=None)[0][0]


def nn_reference(X, y, Z, k, reg, bwtype, loo=False):
    """Gaussian product kernel; generalized_nn: the query's h_f is its k_f-th
    nearest distance in column f (the left-out point excluded); adaptive_nn:
    training point j's h_jf is x_jf's k_f-th nearest distance to the other
    training values, and its weight carries prod_f 1 / h_jf."""
    n, d = X.shape
    out = np.empty(Z.shape[0])
    if bwtype == "adaptive_nn":
        H = np.array([[kth_distance(X[:, f], X[j, f], k[f], True) for f in range(d)]
                      for j in range(n)])
    for i, z in enumerate(Z):
        keep = np.arange(n) != i if loo else np.ones(n, bool)
        if bwtype == "generalized_nn":
            h = np.array([kth_distance(X[keep, f], z[f], k[f]) for f in range(d)])
            logw = np.sum(-0.5 * ((X - z) / h) ** 2, axis=1)
        else:
            logw = np.sum(-0.5 * ((X - z) / H) ** 2 - np.log(H), axis=1)
        out[i] = local_fit(X[keep], y[keep], z, logw[keep], reg)
    return out


@pytest.mark.parametrize("reg", ["lc", "ll"])
@pytest.mark.parametrize("bwtype", ["generalized_nn", "adaptive_nn"])
def test_nearest_neighbour_bandwidths_follow_np_definitions(bwtype, reg):
    X, y = problem(n=90, seed=8)
    X[:6, 0] = X[6:12, 0]  # ties: zero k-th distances for small k
    Z = np.vstack([X[:10], np.random.default_rng(9).uniform(-2, 2, (10, 2))])
    # k = 1, 2 (the ties replaced by the next larger distance) only for lc:
    # ll's local design there has one or two points and no unique answer.
    for k in ([5, 9], [12, 4]) + (([1, 1], [2, 2]) if reg == "lc" else ()):
        model = KernelRegression(reg_type=reg, bandwidth=k, bwtype=bwtype).fit(X, y)
        close(model.predict(Z), nn_reference(X, y, Z, k, reg, bwtype), 1e-9)
        close(model.loo_predict(), nn_reference(X, y, X, k, reg, bwtype, loo=True), 1e-9)


def statsmodels_discrete_logw(X, z, lam_o, lam_u, levels_u):
    """Wang-van Ryzin (column 1) and Aitchison-Aitken (column 2), in logs."""
    o = np.abs(X[:, 1] - z[1])
    lw = np.where(o == 0, np.log1p(-lam_o), np.log(0.5 * (1 - lam_o)) + o * np.log(lam_o))
    return lw + np.where(X[:, 2] == z[2], np.log1p(-lam_u), np.log(lam_u / (levels_u - 1)))


@pytest.mark.parametrize("reg", ["lc", "ll"])
@pytest.mark.parametrize("bwtype", ["generalized_nn", "adaptive_nn"])
def test_nearest_neighbour_bandwidths_with_discrete_columns(bwtype, reg):
    """nn bandwidths apply to the continuous column; the discrete kernels
    multiply in as with fixed bandwidths."""
    X, y = mixed_problem(n=100)
    k, lam_o, lam_u = 7, 0.4, 0.3
    Z = X[:15] + np.array([0.03, 0, 0])
    model = KernelRegression(reg_type=reg, var_type="cou", bwtype=bwtype,
                             bandwidth=[k, lam_o, lam_u]).fit(X, y)
    H = np.array([kth_distance(X[:, 0], X[j, 0], k, True) for j in range(100)])

    def reference(z, keep):
        if bwtype == "generalized_nn":
            lw = -0.5 * ((X[:, 0] - z[0]) / kth_distance(X[keep, 0], z[0], k)) ** 2
        else:
            lw = -0.5 * ((X[:, 0] - z[0]) / H) ** 2 - np.log(H)
        lw = lw + statsmodels_discrete_logw(X, z, lam_o, lam_u, 3)
        return local_fit(X[keep], y[keep], z, lw[keep], reg)

    everyone = np.ones(100, bool)
    close(model.predict(Z), [reference(z, everyone) for z in Z], 1e-9)
    close(model.loo_predict(), [reference(X[i], np.arange(100) != i) for i in range(100)], 1e-9)


def test_nearest_neighbour_k_is_selected_as_whole_numbers():
    X, y = problem(n=80, seed=10)
    model = KernelRegression(reg_type="lc", bwtype="generalized_nn").fit(X, y)
    k = model.bandwidth_
    assert (k == np.round(k)).all() and (k >= 1).all() and (k <= 79).all()
    ref = KernelRegression(reg_type="lc", bwtype="generalized_nn", bandwidth=k).fit(X, y)
    assert ref.criteria()["cv_ls"] == model.criterion_


@pytest.mark.parametrize(
    "kernel, bw, bwtype",
    [("epanechnikov", [0.8, 0.9], "fixed"), ("tricube", [0.8, 0.9], "fixed"),
     ("gaussian", [10, 15], "adaptive_nn"), ("epanechnikov", [20, 25], "adaptive_nn")],
)
def test_lc_gradient_is_the_derivative_of_the_fit(kernel, bw, bwtype):
    """lc's gradient for kernels and bandwidth types statsmodels lacks, against
    central differences (step 1e-6) of kreg's own fit; ll's gradient is the
    local slope (statsmodels' marginal effect), not this derivative."""
    X, y = problem(n=200, seed=12)
    Z = np.random.default_rng(13).uniform(-1.5, 1.5, (20, 2))
    model = KernelRegression(reg_type="lc", kernel=kernel, bandwidth=bw, bwtype=bwtype).fit(X, y)
    fd = np.empty((20, 2))
    for f in range(2):
        e = np.zeros(2)
        e[f] = 1e-6
        fd[:, f] = (model.predict(Z + e) - model.predict(Z - e)) / 2e-6
    close(model.gradient(Z), fd, 1e-6)


# ----------------------------------------------------------------- extremes
def ols_fit(X, y, Z):
    A = np.column_stack([np.ones(X.shape[0]), X - X.mean(axis=0)])
    beta = np.linalg.lstsq(A, y, rcond=None)[0]
    return beta[0] + (Z - X.mean(axis=0)) @ beta[1:], beta[1:]


@pytest.mark.parametrize("shift", [0.0, 1e6])
def test_huge_bandwidth_gives_the_mean_and_least_squares(shift):
    X, y = problem(n=70, shift=shift)
    Z = X[:15] + 0.1
    lc = KernelRegression(reg_type="lc", bandwidth=1e8).fit(X, y)
    close(lc.predict(Z), np.full(15, y.mean()), 1e-9)
    ll = KernelRegression(reg_type="ll", bandwidth=1e8).fit(X, y)
    fit, slopes = ols_fit(X, y, Z)
    close(ll.predict(Z), fit, 1e-9)
    close(ll.gradient(Z), np.tile(slopes, (15, 1)), 1e-9)
    assert np.isfinite(ll.criteria()["aic"]) and np.isfinite(lc.criteria()["cv_ls"])


@pytest.mark.parametrize("reg", ["lc", "ll"])
@pytest.mark.parametrize("shift", [0.0, 1e6])
def test_tiny_bandwidth_gives_the_nearest_point(reg, shift):
    X, y = problem(n=70, shift=shift)
    rng = np.random.default_rng(11)
    Z = X[:15] + rng.uniform(-0.01, 0.01, (15, 2))
    nearest = y[np.argmin(((Z[:, None, :] - X[None, :, :]) ** 2).sum(axis=2), axis=1)]
    model = KernelRegression(reg_type=reg, bandwidth=1e-8).fit(X, y)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        mean = model.predict(Z)
        grad = model.gradient(Z)
    np.testing.assert_array_equal(mean, nearest)
    assert np.isfinite(grad).all()
    kinds = {w.category for w in rec}
    # One point carries all the weight: ll can fit no slope there.
    assert kinds == ({RankDeficientQueriesWarning} if reg == "ll" else set())
    crit = model.criteria()
    assert all(np.isfinite(v) or v == np.inf for v in crit.values()), crit


def test_data_far_from_the_origin_fit_like_data_near_it():
    """kreg centres continuous columns on their training mean, so moving the
    data by 1e6 costs only the digits lost in the data themselves (1e6 times
    double's epsilon relative to the spread, ~1e-10)."""
    X, y = problem(n=70)
    Z = X[:15] + 0.05
    for reg in ("lc", "ll"):
        near = KernelRegression(reg_type=reg, bandwidth=[0.4, 0.5]).fit(X, y)
        far = KernelRegression(reg_type=reg, bandwidth=[0.4, 0.5]).fit(X + 1e6, y)
        close(far.predict(Z + 1e6), near.predict(Z), 1e-7)
        close(far.gradient(Z + 1e6), near.gradient(Z), 1e-6)
        close(far.criteria()["cv_ls"], near.criteria()["cv_ls"], 1e-7)
