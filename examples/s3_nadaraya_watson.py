"""Section 3, the vectorized Nadaraya-Watson regressor: the tutorial's naive
loop, its vectorized numpy version and kreg, on the tutorial's data (smaller
here: n = 2000), with the same predictions.

    python examples/s3_nadaraya_watson.py
"""
import time

import numpy as np
from sklearn.metrics import pairwise_distances, r2_score
from sklearn.model_selection import train_test_split

import kreg


def vectorized_predict(X_train, y_train, X_test, h):
    """The tutorial's VectorizedNadarayaWatsonRegressor.predict (an m x n matrix)."""
    K = np.exp(-0.5 * pairwise_distances(X_test, X_train, metric="sqeuclidean") / h**2)
    return K @ y_train / K.sum(axis=1)


def main(n=2000, d=10, h=0.5):
    # The tutorial's generate_data after np.random.seed(123), and its split.
    X, y = kreg.generate_data(n, d, seed=123)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

    start = time.perf_counter()
    want = vectorized_predict(X_train, y_train, X_test, h)
    numpy_s = time.perf_counter() - start

    model = kreg.NadarayaWatsonRegressor(bandwidth=h).fit(X_train, y_train)
    start = time.perf_counter()
    got = model.predict(X_test)
    kreg_s = time.perf_counter() - start

    print(f"numpy (vectorized): R^2 {r2_score(y_test, want):.6f} in {numpy_s:.4f} s")
    print(f"kreg ({model.engine_}):    R^2 {r2_score(y_test, got):.6f} in {kreg_s:.4f} s")
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    # Where numpy's version gives NaN (every weight underflows), kreg does not.
    tiny = kreg.NadarayaWatsonRegressor(bandwidth=0.01).fit(X_train, y_train).predict(X_test)
    with np.errstate(all="ignore"):
        print(f"h = 0.01: numpy NaN predictions: "
              f"{np.isnan(vectorized_predict(X_train, y_train, X_test, 0.01)).sum()}, "
              f"kreg: {np.isnan(tiny).sum()}")
    assert not np.isnan(tiny).any()


if __name__ == "__main__":
    main()
