"""One behaviour across the kreg tool and the Python package (scikit-learn's
conventions on both): cv=K is unshuffled KFold unless asked, isolated queries
are reported, and NadarayaWatsonCV refines the bandwidth as `kreg tune
--optimize` does, with progress when verbose."""
import json
import warnings

import numpy as np
import pytest
from sklearn.model_selection import KFold, cross_val_score

from kreg_package import kreg as kregpy


def write_csv(path, X, y):
    header = ",".join([f"x{j}" for j in range(X.shape[1])] + ["y"])
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=header, comments="",
               fmt="%.17g")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    X, y = kregpy.generate_data(600, 3, seed=5)
    root = tmp_path_factory.mktemp("parity")
    write_csv(root / "train.csv", X, y)
    return root, X, y


def cli_tune(run, root, tmp_path, *args):
    out = tmp_path / "r.json"
    run("tune", "--train", root / "train.csv", "--target", "y", "--out", out, "--quiet", *args)
    return json.loads(out.read_text())


GRID = [0.2, 0.5, 1.0, 2.0]


def splits_of(cv_results, n_splits):
    return np.array([cv_results[f"split{s}_test_score"] for s in range(n_splits)])


@pytest.mark.parametrize("shuffle", [False, True])
def test_cv5_same_folds_on_cli_and_python(kreg, data, tmp_path, shuffle):
    root, X, y = data
    args = ["--cv", 5, "--seed", 11, "--bandwidths", ",".join(map(str, GRID))]
    cli = cli_tune(kreg, root, tmp_path, *(args + (["--shuffle"] if shuffle else [])))
    py = kregpy.NadarayaWatsonCV(GRID, cv=5, shuffle=shuffle, random_state=11).fit(X, y)
    np.testing.assert_allclose(splits_of(py.cv_results_, 5),
                               splits_of(cli["cv_results"], 5), rtol=1e-12)
    # ... and both are scikit-learn's folds for that choice.
    folds = KFold(5, shuffle=True, random_state=11) if shuffle else KFold(5)
    sk = kregpy.NadarayaWatsonRegressor(GRID[1])
    np.testing.assert_allclose(py.cv_results_["split0_test_score"][1],
                               cross_val_score(sk, X, y, cv=folds)[0], rtol=1e-9)
    # The two defaults differ from the other choice (the test can tell them apart).
    other = kregpy.NadarayaWatsonCV(GRID, cv=5, shuffle=not shuffle, random_state=11).fit(X, y)
    assert not np.allclose(splits_of(other.cv_results_, 5), splits_of(py.cv_results_, 5))


def test_default_is_unshuffled_everywhere(kreg, data, tmp_path):
    root, X, y = data
    grid = ",".join(map(str, GRID))
    default = cli_tune(kreg, root, tmp_path, "--cv", 5, "--bandwidths", grid)
    explicit = cli_tune(kreg, root, tmp_path, "--cv", 5, "--bandwidths", grid, "--no-shuffle")
    assert default["cv_results"] == explicit["cv_results"]
    py = kregpy.NadarayaWatsonCV(GRID, cv=5).fit(X, y)
    np.testing.assert_allclose(splits_of(py.cv_results_, 5),
                               splits_of(default["cv_results"], 5), rtol=1e-12)
    out = tmp_path / "cv.json"
    proc = kreg("cv", "--model", "nw", "--train", root / "train.csv", "--target", "y",
                "--folds", 5, "--out", out)
    assert "not shuffled" in proc.stdout
    assert json.loads(out.read_text())["params"]["shuffle"] is False


def test_shuffle_needs_an_int_cv(data):
    _, X, y = data
    with pytest.raises(ValueError, match="shuffle=True applies to an int 'cv' only"):
        kregpy.NadarayaWatsonCV(GRID, cv=KFold(3), shuffle=True).fit(X, y)


def test_isolated_queries_warned_and_counted(kreg, data, tmp_path):
    root, X, y = data
    rng = np.random.default_rng(0)
    far = np.vstack([X[:50], X[:20] + 50.0])  # 20 queries far from every training point
    write_csv(tmp_path / "q.csv", far, np.zeros(len(far)))
    proc = kreg("predict", "--train", root / "train.csv", "--target", "y", "--query",
                tmp_path / "q.csv", "--kernel", "epanechnikov",
                "--bandwidth", 0.5, "--out", tmp_path / "p.csv")
    assert "note: 20 of 70 queries" in proc.stderr
    model = kregpy.NadarayaWatsonRegressor(0.5, kernel="epanechnikov").fit(X, y)
    with pytest.warns(kregpy.IsolatedQueriesWarning, match=r"20 of 70 queries.*larger bandwidth") as w:
        model.predict(far)
    assert w[0].message.count == 20
    assert issubclass(kregpy.IsolatedQueriesWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(X[:50] + rng.normal(0, 1e-3, (50, 3)))  # none isolated: silent
    # The search: counted per bandwidth and at the best, and warned.
    with pytest.warns(kregpy.IsolatedQueriesWarning, match=r"out-of-sample predictions") as w:
        search = kregpy.NadarayaWatsonCV([0.05, 0.1], kernel="uniform", cv=3).fit(X, y)
    best = search.best_index_
    assert search.isolated_queries_ == search.cv_results_["isolated_queries"][best] > 0
    assert w[0].message.count == search.isolated_queries_
    assert str(search.isolated_queries_) in str(w[0].message)
    quiet = kregpy.NadarayaWatsonCV(GRID, cv=3).fit(X, y)
    assert quiet.isolated_queries_ == 0


@pytest.mark.parametrize("method", ["scalar", "per-feature"])
def test_optimize_as_kreg_tune(kreg, data, tmp_path, method):
    root, X, y = data
    cli = cli_tune(kreg, root, tmp_path, "--cv", 5, "--bandwidths", ",".join(map(str, GRID)),
                   "--optimize", method)
    py = kregpy.NadarayaWatsonCV(GRID, cv=5, optimize=method, random_state=0).fit(X, y)
    opt = cli["optimized"]
    np.testing.assert_allclose(np.atleast_1d(py.best_bandwidth_), opt["bandwidth"], rtol=1e-12)
    assert py.best_score_ == pytest.approx(opt["score"], rel=1e-12)
    assert py.optimum_["evaluations"] == opt["evaluations"]
    assert py.best_score_ >= py.cv_results_["mean_test_score"].max()  # refined, never worse
    if method == "per-feature":
        assert py.best_bandwidth_.shape == (3,)
        assert py.predict(X[:5]).shape == (5,)
        np.testing.assert_array_equal(py.bandwidth_, py.best_bandwidth_)
    else:
        assert isinstance(py.best_bandwidth_, float)
    assert kregpy.NadarayaWatsonCV(GRID, cv=5).fit(X, y).optimum_ is None


def test_optimize_refuses_what_it_cannot_do(data):
    _, X, y = data
    with pytest.raises(ValueError, match="'optimize' parameter .* 'per-feature'"):
        kregpy.NadarayaWatsonCV(GRID, optimize="brent").fit(X, y)
    with pytest.raises(ValueError, match="needs one of kreg's own splits"):
        kregpy.NadarayaWatsonCV(GRID, cv=[(np.arange(300), np.arange(300, 600))],
                              optimize="scalar").fit(X, y)
    with pytest.raises(ValueError, match="'starts' parameter"):
        kregpy.NadarayaWatsonCV(GRID, optimize="per-feature", starts=0).fit(X, y)


def test_verbose_progress(data, capfd):
    _, X, y = data
    kregpy.NadarayaWatsonCV(GRID, cv=5, optimize="scalar").fit(X, y)
    assert capfd.readouterr().err == ""
    kregpy.NadarayaWatsonCV(GRID, cv=5, optimize="scalar", verbose=1).fit(X, y)
    err = capfd.readouterr().err
    assert "NadarayaWatsonCV: grid phase:" in err and "tasks" in err
    assert "NadarayaWatsonCV: optimize phase:" in err and "evaluations" in err
    assert "grid phase done in" in err
