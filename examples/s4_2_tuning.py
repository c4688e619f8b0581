"""Section 4.2, hyperparameter tuning: the tutorial's joblib loop over 30
bandwidths (one fit and predict each, NaN at the small ones) replaced by one
NadarayaWatsonCV call that scores the whole grid in one pass, then refined
with Brent's method (optimize="scalar", as `kreg tune --optimize scalar`).

    python examples/s4_2_tuning.py
"""
import numpy as np
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

import kreg


def main(n=3000, d=5):
    X, y = kreg.generate_data(n, d, seed=123)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    bandwidths = np.logspace(-1, 3, 30)

    # The tutorial's holdout search (fit on train, score on test, every
    # bandwidth) as one split over the rows of train and test together.
    X_all, y_all = np.vstack([X_train, X_test]), np.concatenate([y_train, y_test])
    split = [(np.arange(len(X_train)), np.arange(len(X_train), len(X_all)))]
    holdout = kreg.NadarayaWatsonCV(bandwidths, cv=split).fit(X_all, y_all)
    r2 = holdout.cv_results_["mean_test_score"]
    want = [r2_score(y_test, kreg.NadarayaWatsonRegressor(h).fit(X_train, y_train).predict(X_test))
            for h in bandwidths[:3]]
    np.testing.assert_allclose(r2[:3], want, rtol=1e-9)  # the joblib loop's numbers
    print(f"holdout: best h = {holdout.best_bandwidth_:.4g}, test R^2 {holdout.best_score_:.4f}")

    # 5-fold cross-validation over the whole grid in one call (cv=5: unshuffled
    # KFold, as scikit-learn's; shuffle=True to shuffle), then refined.
    search = kreg.NadarayaWatsonCV(bandwidths, cv=5, optimize="scalar").fit(X_train, y_train)
    grid_best = bandwidths[search.best_index_]
    print(f"grid best h = {grid_best:.4g} (CV R^2 "
          f"{search.cv_results_['mean_test_score'][search.best_index_]:.4f}); "
          f"refined h = {search.best_bandwidth_:.4g} (CV R^2 {search.best_score_:.4f})")
    print(f"test R^2 of the refitted model: {search.score(X_test, y_test):.4f}")
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))  # no NaN at small h


if __name__ == "__main__":
    main()
