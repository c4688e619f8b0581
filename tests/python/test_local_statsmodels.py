"""kreg.KernelRegression against statsmodels' KernelReg (float64), the peer a
statistician would otherwise run, on the same data and bandwidths:

  * fit values (lc and ll) and ll's marginal effects, to 1e-9 relative;
  * lc gradients: statsmodels' own lc marginal effects are wrong (its
    d_gaussian carries a factor 2, B_x a factor 1/nobs, and for d > 1 it
    multiplies the derivative kernels of every continuous column), so they
    are checked against central finite differences of statsmodels' (right)
    lc fit values, and for d = 1 against B_x * nobs / 2;
  * cv_ls: statsmodels' cv_loo, to 1e-9;
  * AIC: lc equal to statsmodels' aic_hurvich; ll against the formula with
    the trace of the ll hat matrix built column by column from statsmodels'
    ll fits of unit vectors (statsmodels' aic_hurvich uses the lc trace for
    ll too, and that is reproduced by plugging kreg's lc trace in);
  * the selected bandwidths score no worse than statsmodels' selections,
    both scored by the same function;
  * Li and Racine's discrete kernels (R np's defaults; statsmodels has none
    for regression) against the product kernel written out in numpy.

"Relative" below is relative to the largest magnitude of the compared
array, so values that cross zero are not judged by their own tiny size.
Data sets: generated continuous data, scikit-learn's load_diabetes (its
binary `sex` column as unordered: standardised, but still two distinct
values), and generated data with ordered and unordered columns whose every
level appears at least twice (so statsmodels' leave-one-out level count,
taken from the n - 1 remaining rows, equals kreg's).
"""

import itertools

import numpy as np
import pytest

from kreg_package import kreg  # skips this module when kreg is not installed

sm_kr = pytest.importorskip(
    "statsmodels.nonparametric.kernel_regression", reason="statsmodels is the peer compared to"
)
datasets = pytest.importorskip("sklearn.datasets")

# statsmodels' aic_hurvich builds a KernelReg without rng, which warns.
pytestmark = pytest.mark.filterwarnings("ignore:After 0.17:FutureWarning")

KernelReg = sm_kr.KernelReg
KernelRegression = kreg.KernelRegression
RankDeficientQueriesWarning = kreg.RankDeficientQueriesWarning

RTOL = 1e-9


def close(actual, expected, rtol=RTOL):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    scale = max(np.abs(expected).max(), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


# --------------------------------------------------------------- data sets
def continuous(n=80, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, d))
    y = np.sin(X[:, 0]) + (X[:, 1] ** 2 if d > 1 else 0) + 0.3 * rng.standard_normal(n)
    return X, y, "c" * d, np.array([0.6, 0.8, 0.7][:d])


def diabetes(n=120):
    """load_diabetes' age, sex (binary, unordered), bmi and bp."""
    data = datasets.load_diabetes()
    X = data.data[:n, [0, 1, 2, 3]]
    assert np.unique(X[:, 1]).size == 2 and min(np.unique(X[:, 1], return_counts=True)[1]) >= 2
    return X, data.target[:n].astype(float), "cucc", np.array([0.03, 0.3, 0.02, 0.03])


def mixed(n=90, seed=1):
    """A continuous, an ordered (4 levels) and an unordered (3 levels) column,
    every level at least twice."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 3, n)
    o = np.resize(np.arange(4), n)
    u = np.resize(np.array([5.0, 7.0, 11.0]), n)
    rng.shuffle(o)
    rng.shuffle(u)
    y = np.cos(x) + 0.4 * o - 0.5 * (u == 7) + 0.2 * rng.standard_normal(n)
    return np.column_stack([x, o, u]).astype(float), y, "cou", np.array([0.5, 0.4, 0.3])


DATA = {"continuous": continuous, "diabetes": diabetes, "mixed": mixed}


def queries(X, var_type, seed=2, m=15):
    """Training rows with their continuous columns moved a little: new points
    whose discrete columns hold levels of the data."""
    rng = np.random.default_rng(seed)
    Z = X[rng.choice(X.shape[0], m, replace=False)].copy()
    for f, t in enumerate(var_type):
        if t == "c":
            Z[:, f] += 0.1 * X[:, f].std() * rng.standard_normal(m)
    return Z


def kreg_model(X, y, var_type, reg, bw, **kw):
    return KernelRegression(reg_type=reg, var_type=var_type, bandwidth=bw, **kw).fit(X, y)


def sm_model(X, y, var_type, reg, bw):
    return KernelReg(y, X, var_type=var_type, reg_type=reg, bw=bw, rng=0)


# ----------------------------------------------------- fit values and slopes
@pytest.mark.parametrize("reg", ["lc", "ll"])
@pytest.mark.parametrize("name", DATA)
def test_fit_values_equal_statsmodels(name, reg):
    X, y, vt, bw = DATA[name]()
    Z = np.vstack([X, queries(X, vt)])
    expected, mfx = sm_model(X, y, vt, reg, bw).fit(Z)
    model = kreg_model(X, y, vt, reg, bw)
    close(model.predict(Z), expected)
    if reg == "ll":  # the local slopes over every column are the marginal effects
        close(model.gradient(Z), mfx)


@pytest.mark.parametrize("reg", ["lc", "ll"])
def test_fused_engine_equals_statsmodels(reg):
    """engine="fused": the fits from the Nadaraya-Watson engine's weighted
    means (continuous columns), the same statsmodels values and cv_loo."""
    X, y, vt, bw = continuous(n=150, d=2)
    Z = np.vstack([X, queries(X, vt)])
    sm = sm_model(X, y, vt, reg, bw)
    expected, mfx = sm.fit(Z)
    model = kreg_model(X, y, vt, reg, bw, engine="fused")
    close(model.predict(Z), expected)
    if reg == "ll":
        close(model.gradient(Z), mfx)
    close(model.criteria()["cv_ls"], sm.cv_loo(bw, sm.est[reg]))


def test_lc_gradient_d1_equals_statsmodels_b_x_rescaled():
    """For one continuous column statsmodels' B_x is right but for a factor
    2 / nobs (d_gaussian's 2 and the 1/nobs in B_x)."""
    X, y, vt, bw = continuous(n=70, d=1)
    Z = np.vstack([X, queries(X, vt)])
    _, B_x = sm_model(X, y, vt, "lc", bw).fit(Z)
    close(kreg_model(X, y, vt, "lc", bw).gradient(Z), B_x * X.shape[0] / 2)


# Central differences with a step of 1e-4 bandwidths: the truncation error
# (step^2 / 6 times the third derivative) and the rounding error (1e-16 /
# step) of the difference are both far below this tolerance.
FD_RTOL = 1e-6


@pytest.mark.parametrize("name", DATA)
def test_lc_gradient_equals_finite_differences_of_statsmodels(name):
    X, y, vt, bw = DATA[name]()
    Z = queries(X, vt)
    sm = sm_model(X, y, vt, "lc", bw)
    base = sm.fit(Z)[0]
    grad = kreg_model(X, y, vt, "lc", bw).gradient(Z)
    levels = {f: np.unique(X[:, f]) for f, t in enumerate(vt) if t != "c"}
    for f, t in enumerate(vt):
        if t == "c":
            step = 1e-4 * bw[f]
            up, down = Z.copy(), Z.copy()
            up[:, f] += step
            down[:, f] -= step
            fd = (sm.fit(up)[0] - sm.fit(down)[0]) / (2 * step)
            close(grad[:, f], fd, rtol=FD_RTOL)
        else:  # np's convention: m(z) - m(z with the column at its lowest level)
            low = Z.copy()
            low[:, f] = levels[f][0]
            close(grad[:, f], base - sm.fit(low)[0])


# ------------------------------------------------------------------ criteria
@pytest.mark.parametrize("reg", ["lc", "ll"])
@pytest.mark.parametrize("name", DATA)
def test_cv_ls_equals_statsmodels_cv_loo(name, reg):
    X, y, vt, bw = DATA[name]()
    sm = sm_model(X, y, vt, reg, bw)
    close(kreg_model(X, y, vt, reg, bw).criteria()["cv_ls"], sm.cv_loo(bw, sm.est[reg]))


def aic_formula(sigma2, trace, n):
    return np.log(sigma2) + (1 + trace / n) / (1 - (trace + 2) / n)


@pytest.mark.parametrize("name", DATA)
def test_lc_aic_equals_statsmodels_aic_hurvich(name):
    X, y, vt, bw = DATA[name]()
    sm = sm_model(X, y, vt, "lc", bw)
    close(kreg_model(X, y, vt, "lc", bw).criteria()["aic"], sm.aic_hurvich(bw))


def ll_hat_matrix(X, vt, bw):
    """The ll smoother's hat matrix, column j the fit values for y = e_j."""
    n = X.shape[0]
    H = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        H[:, j] = sm_model(X, e, vt, "ll", bw).fit()[0]
    return H


@pytest.mark.parametrize("name", DATA)
def test_ll_aic_uses_the_ll_hat_matrix(name):
    X, y, vt, bw = DATA[name]()
    X, y = X[:60], y[:60]
    if name == "mixed":  # the first 60 rows still hold every level twice
        assert all(min(np.unique(X[:, f], return_counts=True)[1]) >= 2 for f in (1, 2))
    n = X.shape[0]
    H = ll_hat_matrix(X, vt, bw)
    sm = sm_model(X, y, vt, "ll", bw)
    sigma2 = np.mean((y - sm.fit()[0]) ** 2)
    crit = kreg_model(X, y, vt, "ll", bw).criteria()
    close(crit["hat_trace"], np.trace(H))
    close(crit["aic"], aic_formula(sigma2, np.trace(H), n))
    # statsmodels' own ll AIC takes the lc smoother's trace.
    lc_trace = kreg_model(X, y, vt, "lc", bw).criteria()["hat_trace"]
    close(sm.aic_hurvich(bw), aic_formula(sigma2, lc_trace, n))


# ------------------------------------------------------- selected bandwidths
SELECT_DATA = {
    "continuous": lambda: continuous(n=70, seed=5),
    "diabetes": lambda: diabetes(n=60),
}


def statsmodels_choices(X, vt, sm_bw):
    """statsmodels' selected bandwidths as kreg can take them. Its fmin is
    unconstrained: on these 60 diabetes rows it picks lambda 0.68-0.91 for
    `sex` in three of the four selections, outside Aitchison-Aitken's
    [0, (c - 1)/c] = [0, 1/2] that kreg keeps to (the other level weighs
    more than the query's own), and h = -2e-4 for `age` in one. So its
    continuous bandwidths are kept (|h|: the Gaussian does not see the sign)
    and every discrete column takes each of 11 lambdas across its range;
    kreg must beat the best of those (and statsmodels' own choice where that
    is in range)."""
    grids = []
    for f, t in enumerate(vt):
        if t == "c":
            grids.append([abs(sm_bw[f])])
        else:
            c = np.unique(X[:, f]).size
            upper = (c - 1) / c if t == "u" else 1.0
            inside = 0 <= sm_bw[f] <= upper
            grids.append(sorted(set(np.linspace(0, upper, 11)) | ({sm_bw[f]} if inside else set())))
    return [np.array(b) for b in itertools.product(*grids)]


@pytest.mark.parametrize("reg", ["lc", "ll"])
@pytest.mark.parametrize("name", SELECT_DATA)
def test_selected_cv_ls_no_worse_than_statsmodels(name, reg):
    X, y, vt, _ = SELECT_DATA[name]()
    sm = KernelReg(y, X, var_type=vt, reg_type=reg, bw="cv_ls", rng=0)
    model = KernelRegression(reg_type=reg, var_type=vt, bandwidth="cv_ls").fit(X, y)
    ours = sm.cv_loo(model.bandwidth_, sm.est[reg])
    theirs = min(sm.cv_loo(b, sm.est[reg]) for b in statsmodels_choices(X, vt, sm.bw))
    close(model.criterion_, ours)  # kreg's objective is statsmodels' function
    assert ours <= theirs * (1 + 1e-9), (model.bandwidth_, sm.bw, ours, theirs)


@pytest.mark.parametrize("reg", ["lc", "ll"])
@pytest.mark.parametrize("name", SELECT_DATA)
def test_selected_aic_no_worse_than_statsmodels(name, reg):
    """lc: both scored by statsmodels' aic_hurvich. ll: statsmodels minimises
    its AIC with the lc trace, kreg the ll smoother's own; both are scored by
    the latter (kreg's criteria, checked above against the explicit hat
    matrix), the criterion kreg's bandwidth="aic" stands for."""
    X, y, vt, _ = SELECT_DATA[name]()
    sm = KernelReg(y, X, var_type=vt, reg_type=reg, bw="aic", rng=0)
    model = KernelRegression(reg_type=reg, var_type=vt, bandwidth="aic").fit(X, y)
    if reg == "lc":
        score = sm.aic_hurvich
    else:
        def score(b):
            return kreg_model(X, y, vt, reg, b).criteria()["aic"]
    ours = score(model.bandwidth_)
    theirs = min(score(b) for b in statsmodels_choices(X, vt, sm.bw))
    close(model.criterion_, ours)
    assert ours <= theirs + 1e-9 * abs(theirs), (model.bandwidth_, sm.bw, ours, theirs)


# -------------------------------------------------------- Li-Racine kernels
def li_racine_weights(X, z, vt, bw):
    """The product kernel written out: Gaussian for continuous columns;
    ordered lambda^|x - z| (1 at equal levels); unordered 1 at equal levels
    and lambda otherwise."""
    w = np.ones(X.shape[0])
    for f, t in enumerate(vt):
        dx = X[:, f] - z[f]
        if t == "c":
            w *= np.exp(-0.5 * (dx / bw[f]) ** 2)
        elif t == "o":
            w *= np.where(dx == 0, 1.0, bw[f] ** np.abs(dx))
        else:
            w *= np.where(dx == 0, 1.0, bw[f])
    return w


def weighted_fit(X, y, z, w, reg):
    if reg == "lc":
        return w @ y / w.sum(), None
    A = np.column_stack([np.ones(X.shape[0]), X - z]) * np.sqrt(w)[:, None]
    beta = np.linalg.lstsq(A, y * np.sqrt(w), rcond=None)[0]
    return beta[0], beta[1:]


@pytest.mark.parametrize("reg", ["lc", "ll"])
@pytest.mark.parametrize("lambdas", [(0.4, 0.3), (0.9, 0.05), (1.0, 1.0), (0.0, 0.0)])
def test_li_racine_kernels_equal_the_product_kernel(reg, lambdas):
    X, y, vt, bw = mixed()
    bw = np.array([bw[0], *lambdas])
    Z = queries(X, vt)
    model = kreg_model(X, y, vt, reg, bw, discrete_kernels="li_racine")
    if reg == "ll" and lambdas == (0.0, 0.0):
        # Only the query's levels have weight: the discrete columns are
        # constant in every window, their slopes unidentified (kreg sets them
        # to 0, as lstsq's minimum-norm solution does).
        with pytest.warns(RankDeficientQueriesWarning, match="15 of 15"):
            mean, grad = model.predict(Z), model.gradient(Z)
    else:
        mean, grad = model.predict(Z), model.gradient(Z)
    for i, z in enumerate(Z):
        m, slopes = weighted_fit(X, y, z, li_racine_weights(X, z, vt, bw), reg)
        close(mean[i], m)
        if slopes is not None:
            close(grad[i], slopes)
