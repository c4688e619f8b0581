"""`kreg tune` against the tutorial's own code and scikit-learn: the holdout
grid (the tutorial's joblib search), leave-one-out and k-fold scores, the
optimisers, the plot, and runs that are interrupted (Ctrl-C, SIGKILL) and
resumed."""
import json
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import pairwise_distances, r2_score
from sklearn.model_selection import KFold, cross_val_score, train_test_split


# ---- the tutorial's estimator, verbatim (the oracle) -------------------------
class VectorizedNadarayaWatsonRegressor:
    def __init__(self, bandwidth):
        self.h = bandwidth

    def fit(self, X, y):
        self.X_train = X
        self.y_train = y
        return self

    def predict(self, X):
        kernels = np.exp(-0.5 * pairwise_distances(X, self.X_train) ** 2 / self.h ** 2)
        return (kernels @ self.y_train) / kernels.sum(axis=1)
# ------------------------------------------------------------------------------


class NW(RegressorMixin, BaseEstimator):
    """The tutorial's estimator with scikit-learn's estimator interface."""

    def __init__(self, bandwidth=1.0):
        self.bandwidth = bandwidth

    def fit(self, X, y):
        self.model_ = VectorizedNadarayaWatsonRegressor(self.bandwidth).fit(X, y)
        return self

    def predict(self, X):
        return self.model_.predict(X)


def write_csv(path, X, y):
    header = ",".join([f"x{j}" for j in range(X.shape[1])] + ["y"])
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=header, comments="",
               fmt="%.17g")


def tutorial_data(n, d, seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + rng.normal() + rng.normal(size=n)
    return train_test_split(X, y, test_size=0.2, random_state=42)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    X_train, X_test, y_train, y_test = tutorial_data(3000, 5, 123)
    root = tmp_path_factory.mktemp("tune")
    write_csv(root / "train.csv", X_train, y_train)
    write_csv(root / "test.csv", X_test, y_test)
    return root, X_train, y_train, X_test, y_test


def tune(kreg, root, tmp_path, *args, check=True):
    out = tmp_path / "results.json"
    proc = kreg("tune", "--train", root / "train.csv", "--target", "y", "--out", out, *args,
                check=check)
    return proc, (json.loads(out.read_text()) if proc.returncode == 0 else None)


def test_holdout_grid_equals_the_tutorials_joblib_search(kreg, data, tmp_path):
    root, X_train, y_train, X_test, y_test = data
    _, res = tune(kreg, root, tmp_path, "--test", root / "test.csv", "--cv", "holdout",
                  "--bandwidths", "logspace:-1:3:30")
    grid = np.logspace(-1, 3, 30)
    # kreg's logspace values are 10**y with the C library's pow, numpy's with
    # its own, which is SIMD code on some CPUs (AVX-512) and may differ from
    # the C library's in the last bit: equal to 1 ulp, as kreg documents.
    np.testing.assert_array_max_ulp(np.array(res["cv_results"]["param_bandwidth"]), grid, maxulp=1)
    want = [r2_score(y_test, VectorizedNadarayaWatsonRegressor(h).fit(X_train, y_train)
                     .predict(X_test)) for h in grid]
    np.testing.assert_allclose(res["cv_results"]["mean_test_score"], want, rtol=1e-9, atol=1e-12)
    assert res["best_index"] == int(np.argmax(want))
    assert res["cv_results"]["rank_test_score"][res["best_index"]] == 1


def test_leave_one_out_equals_brute_force(kreg, data, tmp_path):
    root, X_train, y_train, _, _ = data
    X, y = X_train[:300], y_train[:300]
    write_csv(tmp_path / "small.csv", X, y)
    grid = [0.2, 0.5, 1.0, 2.0]
    proc = kreg("tune", "--train", tmp_path / "small.csv", "--target", "y", "--cv", "loo",
                "--scoring", "mse", "--bandwidths", ",".join(map(str, grid)),
                "--out", tmp_path / "r.json", "--quiet")
    res = json.loads((tmp_path / "r.json").read_text())
    for b, h in enumerate(grid):
        K = np.exp(-0.5 * pairwise_distances(X, X) ** 2 / h ** 2)
        np.fill_diagonal(K, 0.0)  # leave one out
        pred = K @ y / K.sum(axis=1)
        np.testing.assert_allclose(res["cv_results"]["mean_test_score"][b],
                                   np.mean((pred - y) ** 2), rtol=1e-10)
    assert res["n_splits"] == 1
    assert "best bandwidth:" in proc.stdout


def test_kfold_equals_cross_val_score(kreg, data, tmp_path):
    root, X_train, y_train, _, _ = data
    grid = [0.3, 0.7, 1.5]
    for shuffle in (True, False):
        # Unshuffled by default, as scikit-learn's cv=5; --shuffle opts in.
        args = ["--cv", "5", "--seed", "11", "--bandwidths", ",".join(map(str, grid))]
        if shuffle:
            args.append("--shuffle")
        _, res = tune(kreg, root, tmp_path, *args)
        cv = KFold(5, shuffle=True, random_state=11) if shuffle else KFold(5)
        for b, h in enumerate(grid):
            want = cross_val_score(NW(h), X_train, y_train, cv=cv, scoring="r2")
            got = [res["cv_results"][f"split{s}_test_score"][b] for s in range(5)]
            np.testing.assert_allclose(got, want, rtol=1e-9)
            np.testing.assert_allclose(res["cv_results"]["mean_test_score"][b], want.mean(),
                                       rtol=1e-9)
            np.testing.assert_allclose(res["cv_results"]["std_test_score"][b], want.std(),
                                       rtol=1e-6, atol=1e-12)
        assert not (tmp_path / "results.json.journal").exists()  # done: journal removed


def test_csv_plot_and_refit(kreg, data, tmp_path):
    root, X_train, y_train, X_test, y_test = data
    proc, res = tune(kreg, root, tmp_path, "--cv", "3", "--bandwidths", "logspace:-1:1:9",
                     "--csv", tmp_path / "r.csv", "--plot", tmp_path / "r2.svg",
                     "--test", root / "test.csv", "--refit", tmp_path / "pred.csv")
    table = np.genfromtxt(tmp_path / "r.csv", delimiter=",", names=True)
    np.testing.assert_array_equal(table["bandwidth"], res["cv_results"]["param_bandwidth"])
    np.testing.assert_array_equal(table["mean_test_score"], res["cv_results"]["mean_test_score"])
    svg = ET.parse(tmp_path / "r2.svg").getroot()
    assert svg.tag.endswith("svg")
    text = " ".join("".join(e.itertext()) for e in svg.iter() if e.tag.endswith("text"))
    assert "Nadaraya-Watson Performance vs. Bandwidth" in text
    assert "Bandwidth" in text and "best h" in text
    pred = np.loadtxt(tmp_path / "pred.csv", delimiter=",", skiprows=1)
    h = res["best_bandwidth"]
    want = VectorizedNadarayaWatsonRegressor(h).fit(X_train, y_train).predict(X_test)
    np.testing.assert_allclose(pred, want, rtol=1e-9)
    assert res["refit"]["test_r2"] == pytest.approx(r2_score(y_test, want), rel=1e-9)
    assert "\r" not in proc.stderr  # not a terminal: no progress bar


def test_scalar_optimum_beats_the_grid(kreg, data, tmp_path):
    root, *_ = data
    _, res = tune(kreg, root, tmp_path, "--cv", "loo", "--bandwidths", "logspace:-1:1:5",
                  "--optimize", "scalar", "--scoring", "mse")
    opt = res["optimized"]
    assert opt["method"] == "scalar" and opt["converged"]
    assert opt["score"] <= res["best_score"]  # mse: smaller is better
    grid = res["cv_results"]["param_bandwidth"]
    b = res["best_index"]
    assert grid[max(b - 1, 0)] <= opt["bandwidth"][0] <= grid[min(b + 1, len(grid) - 1)]


def test_per_feature_optimum_ignores_an_irrelevant_feature(kreg, tmp_path):
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(400, 2))
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=400)  # x1 does not matter
    write_csv(tmp_path / "d.csv", X, y)
    proc = kreg("tune", "--train", tmp_path / "d.csv", "--target", "y", "--cv", "loo",
                "--optimize", "per-feature", "--out", tmp_path / "r.json", "--quiet")
    res = json.loads((tmp_path / "r.json").read_text())
    h0, h1 = res["optimized"]["bandwidth"]
    assert h1 > 20 * h0, (h0, h1)
    assert res["optimized"]["score"] >= res["best_score"]  # r2: at least the isotropic best
    assert "feature 1 (x1)" in proc.stdout


def test_bad_arguments(kreg, data, tmp_path):
    root, *_ = data
    cases = [
        (["--bandwidths", "logspace:-1:3"], "logspace"),
        (["--bandwidths", "0.5,-1"], "-1"),
        (["--cv", "1"], "cv = 1 folds is too few"),
        (["--cv", "9999"], "use at most 2400 folds"),
        (["--cv", "holdout"], "--cv holdout scores on a test set: give --test FILE"),
        (["--scoring", "accuracy"], "unknown scoring 'accuracy'"),
        (["--optimize", "fast"], "--optimize 'fast' is not understood"),
        (["--refit", tmp_path / "p.csv"], "--refit writes predictions for --test"),
        (["--jobs", "0"], "n_jobs = 0 is not valid"),
        (["--engine", "gpu"], "unknown engine 'gpu'; choose auto, "),
        (["--engine", "vectorized"],
         "engine 'vectorized' cannot predict at many bandwidths here"),
    ]
    for args, message in cases:
        proc, _ = tune(kreg, root, tmp_path, *args, "--journal", tmp_path / "none", check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr, (args, proc.stderr)


def test_engine_is_named_and_auto_is_the_fused_engine(kreg, data, tmp_path):
    root, *_ = data
    args = ["--cv", "3", "--bandwidths", "logspace:-1:1:5"]
    proc, auto = tune(kreg, root, tmp_path, *args)
    assert "gaussian kernel, fused engine" in proc.stderr
    _, fused = tune(kreg, root, tmp_path, *args, "--engine", "fused")
    assert auto["cv_results"] == fused["cv_results"]


# ---- interrupted runs --------------------------------------------------------
@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    """A run of a few seconds: LOO on 6000 points, 60 bandwidths."""
    X_train, _, y_train, _ = tutorial_data(7500, 10, 5)
    root = tmp_path_factory.mktemp("slow")
    write_csv(root / "train.csv", X_train, y_train)
    return root


def slow_args(kreg_bin, root, out):
    return [kreg_bin, "tune", "--train", root / "train.csv", "--target", "y", "--cv", "loo",
            "--bandwidths", "logspace:-1:2:60", "--optimize", "scalar", "--out", out]


def records(journal):
    """The journal's complete records (a line cut short by SIGKILL has no
    newline yet); each line ends in a tab and its checksum."""
    lines = journal.read_text().split("\n")[:-1]
    return [json.loads(line.rsplit("\t", 1)[0]) for line in lines[1:] if line]


@pytest.fixture(scope="module")
def uninterrupted(kreg_bin, slow, tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "r.json"
    subprocess.run(list(map(str, slow_args(kreg_bin, slow, out))), check=True,
                   capture_output=True)
    return json.loads(out.read_text())


def run_until_journaled(kreg_bin, slow, out, min_records):
    proc = subprocess.Popen(list(map(str, slow_args(kreg_bin, slow, out))),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = out.parent / (out.name + ".journal")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal.exists() and len(journal.read_text().split("\n")) > min_records + 1:
            return proc, journal
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be interrupted: {proc.stderr.read()}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail("no journal records after 60 s")


def same_results(a, b):
    assert a["cv_results"] == b["cv_results"]  # the same bits
    assert a["best_index"] == b["best_index"]
    assert a["optimized"]["bandwidth"] == b["optimized"]["bandwidth"]
    assert a["optimized"]["score"] == b["optimized"]["score"]


def test_ctrl_c_stops_within_a_second_and_resume_finishes(kreg, kreg_bin, slow, uninterrupted,
                                                          tmp_path):
    out = tmp_path / "r.json"
    proc, journal = run_until_journaled(kreg_bin, slow, out, 2)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 1.0
    assert proc.returncode == 130, stderr
    assert "--resume" in stderr
    done = records(journal)  # every line complete JSON
    assert len(done) >= 2 and not out.exists()
    again = subprocess.run(list(map(str, slow_args(kreg_bin, slow, out))), capture_output=True,
                           text=True)
    assert again.returncode == 2 and "add --resume" in again.stderr  # never clobbers work
    resumed = subprocess.run(list(map(str, slow_args(kreg_bin, slow, out) + ["--resume"])),
                             capture_output=True, text=True, check=True)
    assert f"{len(done)} records" in resumed.stderr
    same_results(json.loads(out.read_text()), uninterrupted)


def test_sigkill_loses_only_the_running_task(kreg_bin, slow, uninterrupted, tmp_path):
    out = tmp_path / "r.json"
    proc, journal = run_until_journaled(kreg_bin, slow, out, 3)
    proc.kill()
    proc.wait()
    assert len(records(journal)) >= 3
    subprocess.run(list(map(str, slow_args(kreg_bin, slow, out) + ["--resume"])),
                   capture_output=True, text=True, check=True)
    same_results(json.loads(out.read_text()), uninterrupted)


def test_resume_refuses_a_different_run(kreg_bin, slow, tmp_path):
    out = tmp_path / "r.json"
    proc, _ = run_until_journaled(kreg_bin, slow, out, 1)
    proc.kill()
    proc.wait()
    args = list(map(str, slow_args(kreg_bin, slow, out) + ["--resume"]))
    args[args.index("logspace:-1:2:60")] = "logspace:-1:2:50"
    bad = subprocess.run(args, capture_output=True, text=True)
    assert bad.returncode == 2
    assert "was written for a different run (bandwidths differ)" in bad.stderr


def test_separate_target_files(kreg, data, tmp_path):
    root, X_train, y_train, X_test, y_test = data
    header = ",".join(f"x{j}" for j in range(X_train.shape[1]))
    np.savetxt(tmp_path / "X.csv", X_train, delimiter=",", header=header, comments="",
               fmt="%.17g")
    np.savetxt(tmp_path / "y.csv", y_train, header="y", comments="", fmt="%.17g")
    np.savetxt(tmp_path / "y_short.csv", y_train[:-1], header="y", comments="", fmt="%.17g")
    args = ["tune", "--train", tmp_path / "X.csv", "--cv", "3", "--bandwidths", "0.5,1",
            "--quiet"]
    with_target = tune(kreg, root, tmp_path, "--cv", "3", "--bandwidths", "0.5,1")[1]
    kreg(*args, "--train-y", tmp_path / "y.csv", "--out", tmp_path / "sep.json")
    separate = json.loads((tmp_path / "sep.json").read_text())
    assert separate["cv_results"] == with_target["cv_results"]
    bad = kreg(*args, "--train-y", tmp_path / "y_short.csv", check=False)
    assert bad.returncode == 2
    assert f"--train-y '{tmp_path / 'y_short.csv'}' has {len(y_train) - 1} rows but the " \
           f"features have {len(y_train)}" in bad.stderr
