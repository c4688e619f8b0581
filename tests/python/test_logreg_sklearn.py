"""kreg's LogisticRegression against scikit-learn's LogisticRegression(solver=
'lbfgs'), through `kreg_probe logreg`, on load_digits, iris and a random
3-class problem with features far from standard scale.

Both solve the same strongly convex problem (mean log-loss + ||W||^2/(2 C n)
over standardised features, intercept unpenalised), so their solutions
differ only by how far each optimiser stopped from the one minimiser. With
g(theta) the gradient and mu the smallest Hessian eigenvalue (outside the one
flat direction, a common shift of all intercepts, which neither solver moves
from 0),

    ||theta_kreg - theta_sklearn|| <= (||g(theta_kreg)|| + ||g(theta_sklearn)||) / mu

We compute both gradients and mu here in numpy and check the distance against
twice that bound (the Hessian barely changes between two points this close),
and also against 1e-4 of the coefficients' size. Both get tol = 1e-10; kreg
reaches it, scipy usually stops first on its relative-reduction test (ftol =
64 eps) at |g| ~ 1e-8, which with mu ~ 2e-4 (digits, C = 1) bounds the
distance by ~4e-4; the observed differences are at most 7e-6 of the
coefficients' size, so 1e-4 leaves a wide margin. Predictions must be
identical. scikit-learn gets the standardised X and kreg the raw X (it
standardises internally and reports original units), so kreg's coefficients
are mapped back to standardised units for the comparison.

Run with KREG_PROBE=/path/to/kreg_probe; without it every test is skipped.
"""

import json
import subprocess
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_digits, load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

TOL = 1e-10
MAX_ITER = 10000


@pytest.fixture(autouse=True)
def single_threaded_blas():
    # numpy's OpenBLAS threads make these small products tens of times slower
    # on small machines (digits: 30 s instead of 1 s on 2 cores).
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def probe(probe_bin):
    def run(*args):
        cmd = [probe_bin, *map(str, args)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{cmd} failed ({done.returncode}): {done.stderr}"
        return json.loads(done.stdout)

    return run


def random_problem():
    """400 x 6, 3 classes from a linear model with Gumbel noise (overlapping
    classes), features with offsets up to 1e3 and scales from 1e-2 to 1e2."""
    rng = np.random.RandomState(0)
    n, d, k = 400, 6, 3
    Z = rng.normal(size=(n, d))
    V = rng.normal(size=(k, d))
    labels = np.array([-1.0, 2.0, 7.0])
    y = labels[np.argmax(Z @ V.T + rng.gumbel(size=(n, k)), axis=1)]
    X = Z * np.logspace(-2, 2, d) + np.linspace(-1e3, 1e3, d)
    return X, y


def datasets():
    digits = load_digits()
    iris = load_iris()
    X, y = random_problem()
    return {
        "digits": (digits.data.astype(np.float64), digits.target.astype(np.float64)),
        "iris": (iris.data.astype(np.float64), iris.target.astype(np.float64)),
        "random": (X, y),
    }


def softmax_residual(Z, yi, W, b):
    S = Z @ W.T + b
    S -= S.max(axis=1, keepdims=True)
    P = np.exp(S)
    P /= P.sum(axis=1, keepdims=True)
    return P


def gradient(Z, yi, W, b, C):
    """The objective's gradient at (W, b), flattened as [W (K x d), b]."""
    n = len(Z)
    R = softmax_residual(Z, yi, W, b)
    R[np.arange(n), yi] -= 1.0
    gW = R.T @ Z / n + W / (C * n)
    gb = R.sum(axis=0) / n
    return np.concatenate([gW.ravel(), gb])


def min_curvature(Z, yi, W, b, C):
    """Smallest Hessian eigenvalue at (W, b) on the complement of the flat
    direction (all intercepts shifted together). Variables ordered (k, j) with
    j = d standing for the intercept."""
    n, d = Z.shape
    K = W.shape[0]
    P = softmax_residual(Z, yi, W, b)
    X1 = np.hstack([Z, np.ones((n, 1))])
    m = d + 1
    H = np.zeros((K * m, K * m))
    for k in range(K):
        for l in range(K):
            a = P[:, k] * ((k == l) - P[:, l])
            H[k * m:(k + 1) * m, l * m:(l + 1) * m] = (X1.T * a) @ X1 / n
        H[k * m:k * m + d, k * m:k * m + d] += np.eye(d) / (C * n)
    e = np.zeros(K * m)
    e[d::m] = 1.0 / np.sqrt(K)
    # An orthonormal basis of e's complement.
    Q, _ = np.linalg.qr(np.column_stack([e, np.eye(K * m)]))
    B = Q[:, 1:K * m]
    return np.linalg.eigvalsh(B.T @ H @ B)[0]


def flat(W, b):
    return np.concatenate([np.hstack([W, b[:, None]]).ravel()])


@pytest.mark.parametrize("name", ["digits", "iris", "random"])
@pytest.mark.parametrize("C", [1.0, 0.05])
def test_matches_sklearn(probe, tmp_path, name, C):
    X, y = datasets()[name]
    np.save(tmp_path / "X.npy", X)
    (tmp_path / "y.txt").write_text("".join(f"{float(v)!r}\n" for v in y))
    got = probe("logreg", tmp_path / "X.npy", tmp_path / "y.txt", C, TOL, MAX_ITER, 1)

    scaler = StandardScaler().fit(X)
    Z = scaler.transform(X)
    with warnings.catch_warnings():
        # scipy may stop on its relative-reduction test (ftol) before tol.
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = LogisticRegression(C=C, tol=TOL, max_iter=MAX_ITER).fit(Z, y)

    classes = np.array(got["classes"])
    np.testing.assert_array_equal(classes, sk.classes_)
    yi = np.searchsorted(classes, y)
    assert got["converged"], got["stop"]
    assert got["grad_max"] <= TOL

    # kreg's model in original units, mapped back to standardised units.
    coef = np.array(got["coef"])
    intercept = np.array(got["intercept"])
    W_k = coef * scaler.scale_
    b_k = intercept + coef @ scaler.mean_
    W_s, b_s = sk.coef_, sk.intercept_

    g_k = gradient(Z, yi, W_k, b_k, C)
    g_s = gradient(Z, yi, W_s, b_s, C)
    # kreg's own report agrees with numpy's gradient at its solution (up to
    # the rounding of mapping the coefficients through the scaler).
    assert np.max(np.abs(g_k)) <= TOL + 1e-12
    mu = min_curvature(Z, yi, W_s, b_s, C)
    assert mu > 0
    bound = (np.linalg.norm(g_k) + np.linalg.norm(g_s)) / mu
    diff = flat(W_k, b_k) - flat(W_s, b_s)
    size = np.max(np.abs(flat(W_s, b_s)))
    assert np.linalg.norm(diff) <= 2 * bound + 1e-9 * size, (np.linalg.norm(diff), bound)
    assert np.max(np.abs(diff)) <= 1e-4 * size, (np.max(np.abs(diff)), size)

    # Identical labels (kreg predicts from the raw X in original units).
    np.testing.assert_array_equal(np.array(got["predictions"]), sk.predict(Z))
