"""Section 4.3, cross-validation folds: the folds are independent, so
scikit-learn's cross_val_score runs kreg's estimators on them as on any
estimator (and kreg's own threads inside each fit); `kreg cv` does the same
from the command line.

    python examples/s4_3_cross_validation.py
"""
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

import kreg


def main():
    X, y = kreg.generate_data(2000, 5, seed=123)
    folds = KFold(5)  # what cv=5 means in scikit-learn and in kreg
    scores = cross_val_score(kreg.NadarayaWatsonRegressor(bandwidth=0.7), X, y, cv=folds)
    print("Nadaraya-Watson, 5 folds, R^2:", np.round(scores, 4), f"mean {scores.mean():.4f}")

    digits, labels = load_digits(return_X_y=True)
    scores = cross_val_score(kreg.LogisticRegression(max_iter=300), digits, labels,
                             cv=StratifiedKFold(5, shuffle=True, random_state=0))
    print("logistic regression, 5 stratified folds, accuracy:", np.round(scores, 4),
          f"mean {scores.mean():.4f}")
    assert scores.mean() > 0.9


if __name__ == "__main__":
    main()
