"""The tutorial's own code (../shared/seed/parallel-processing-tutorial.md,
sections 3 and 4.2), verbatim: the baseline every peer script in bench/ runs
side by side with kreg. One copy, imported by peers.py, peers_select.py and
bench_python.py (run them from anywhere: each puts bench/ on sys.path)."""
import numpy as np
from sklearn.metrics import pairwise_distances
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_array, check_X_y


# ---- the tutorial's code, verbatim ------------------------------------------
def generate_data(n, d):
    X = np.random.normal(size=(n, d))
    coef = np.random.normal(size=(d,))
    intercept = np.random.normal()
    noise = np.random.normal(size=(n,))
    y = (X @ coef + intercept + noise).reshape(-1)

    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

    return X_train, y_train, X_test, y_test


class VectorizedNadarayaWatsonRegressor:
    def __init__(self, bandwidth):
        self.h = bandwidth

    def fit(self, X, y):
        X, y = check_X_y(X, y)

        self.X_train = X
        self.y_train = y

        return self

    def predict(self, X):
        X = check_array(X)

        # n_eval by n_train kernel matrix.
        kernels = np.exp(-0.5 * pairwise_distances(X, self.X_train) ** 2 / self.h**2)

        # Element-wise division
        return (kernels @ self.y_train) / kernels.sum(axis=1)
# ------------------------------------------------------------------------------
