"""kreg: parallel Nadaraya-Watson kernel regression for numpy and scikit-learn.

    from kreg import LogisticRegression, NadarayaWatsonCV, NadarayaWatsonRegressor, augment
    model = NadarayaWatsonRegressor(bandwidth=0.5).fit(X_train, y_train)
    search = NadarayaWatsonCV(np.logspace(-1, 3, 30), cv=5).fit(X_train, y_train)
    clf = LogisticRegression(C=1.0).fit(images, labels)
    more = augment(images_3d, copies=4, seed=1)

The estimators follow scikit-learn's conventions (they pass its estimator
checks) and run on kreg's C++ engines with the GIL released. See
README.md ("Python") and the docstrings for the dtype, n_jobs and Ctrl-C
behaviour.
"""

from ._functions import (
    generate_data,
    pairwise_sq_distances,
    parallel_map,
    read_idx,
    rule_of_thumb_bandwidth,
)
from ._kreg import InputError, __version__, available_engines, hardware_concurrency
from ._local import KernelRegression, RankDeficientQueriesWarning
from ._models import LogisticRegression, augment
from ._nw import IsolatedQueriesWarning, NadarayaWatsonRegressor
from ._nw_cv import NadarayaWatsonCV

__all__ = [
    "InputError",
    "IsolatedQueriesWarning",
    "KernelRegression",
    "LogisticRegression",
    "NadarayaWatsonCV",
    "NadarayaWatsonRegressor",
    "RankDeficientQueriesWarning",
    "__version__",
    "augment",
    "available_engines",
    "generate_data",
    "hardware_concurrency",
    "pairwise_sq_distances",
    "parallel_map",
    "read_idx",
    "rule_of_thumb_bandwidth",
]
