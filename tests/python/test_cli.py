"""The kreg command-line tool against the tutorial's own numpy/scikit-learn code."""
import json
import os
import re

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split


def tutorial_generate_data(n, d, seed):
    """The tutorial's generate_data, seeded the way its demo seeds it."""
    np.random.seed(seed)
    X = np.random.normal(size=(n, d))
    coef = np.random.normal(size=(d,))
    intercept = np.random.normal()
    noise = np.random.normal(size=(n,))
    y = (X @ coef + intercept + noise).reshape(-1)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    return X_train, y_train, X_test, y_test


def test_version_and_usage_exit_codes(kreg):
    proc = kreg("--version")
    assert proc.stdout.strip().startswith("kreg ")
    assert kreg(check=False).returncode == 2  # no subcommand
    assert kreg("frobnicate", check=False).returncode == 2
    bad = kreg("generate", "--test-size", "1.5", check=False)
    assert bad.returncode == 2
    assert "--test-size" in bad.stderr


@pytest.mark.parametrize("sub", ["info", "generate", "score", "describe", "predict", "tune", "augment",
                                 "infer", "cv"])
def test_every_command_has_help(kreg, sub):
    proc = kreg(sub, "--help")
    assert "Usage" in proc.stdout or "usage" in proc.stdout.lower()


def test_each_command_is_built_alone_as_it_is_in_the_whole_tree(kreg):
    """`kreg CMD ...` builds CMD's options alone (start-up); `kreg --help` lists
    every command, and each one's own help must be that command's."""
    listing = kreg("--help").stdout
    names = re.findall(r"^  ([a-z]+) ", listing.split("Subcommands:")[1], re.M)
    assert set(names) == {"info", "generate", "score", "describe", "predict", "tune", "augment",
                          "infer", "cv", "tutorial", "merge"}, listing
    for sub in names:
        out = kreg(sub, "--help").stdout
        assert re.search(rf"^Usage: \S*kreg {sub} ", out, re.M), out[:300]
        assert "Subcommands:" not in out
    # An unknown word still gets the whole list.
    bad = kreg("predic", check=False)
    assert bad.returncode == 2 and ", ".join(names) in bad.stderr, bad.stderr


def test_info_json(kreg):
    info = json.loads(kreg("info", "--json").stdout)
    assert info["cpu"]["logical_cores"] == os.cpu_count()
    assert info["cpu"]["l2_cache_bytes"] >= info["cpu"]["l1d_cache_bytes"] > 0
    assert info["simd"]["active"] in info["simd"]["supported"]
    assert info["blas"]["library"].startswith("OpenBLAS")
    cuda = info["cuda"]
    assert cuda["devices"] or cuda["status"].startswith("no CUDA device")
    text = kreg("info").stdout
    assert "SIMD in use:" in text and "compute device:" in text and "caches:" in text
    # The registered engines in auto's order; the CPU's are always there.
    names = [e["name"] for e in info["engines"]]
    assert names[-3:] == ["fused", "vectorized", "reference"]
    assert all(e["device"] for e in info["engines"])
    assert "engines:        " + ", ".join(
        f"{e['name']} ({e['device']})" for e in info["engines"]) in text


@pytest.mark.parametrize("n,d,seed", [(10000, 10, 123), (37, 3, 7)])
def test_generate_csv_matches_tutorial(kreg, tmp_path, n, d, seed):
    kreg("generate", "--n", n, "--d", d, "--seed", seed, "--out-dir", tmp_path)
    X_train, y_train, X_test, y_test = tutorial_generate_data(n, d, seed)
    for name, X, y in [("train.csv", X_train, y_train), ("test.csv", X_test, y_test)]:
        with open(tmp_path / name) as f:
            header = f.readline().strip().split(",")
        assert header == [f"x{j}" for j in range(d)] + ["y"]
        data = np.loadtxt(tmp_path / name, delimiter=",", skiprows=1, ndmin=2)
        np.testing.assert_array_equal(data[:, :d], X)  # same draws, bit for bit
        np.testing.assert_allclose(data[:, d], y, rtol=1e-12, atol=1e-12)


def test_generate_npy_matches_tutorial(kreg, tmp_path):
    kreg("generate", "--format", "npy", "--out-dir", tmp_path)
    X_train, y_train, X_test, y_test = tutorial_generate_data(10000, 10, 123)
    np.testing.assert_array_equal(np.load(tmp_path / "X_train.npy"), X_train)
    np.testing.assert_array_equal(np.load(tmp_path / "X_test.npy"), X_test)
    y = np.load(tmp_path / "y_train.npy")
    assert y.shape == (8000,)
    np.testing.assert_allclose(y, y_train, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.load(tmp_path / "y_test.npy"), y_test, rtol=1e-12, atol=1e-12)


def test_score_matches_sklearn(kreg, tmp_path):
    rng = np.random.default_rng(0)
    y_true = rng.normal(size=500) * 3 + 1
    y_pred = y_true + rng.normal(size=500)
    np.savetxt(tmp_path / "true.csv", y_true[:, None], header="y", comments="", delimiter=",")
    np.save(tmp_path / "pred.npy", y_pred)
    out = json.loads(kreg("score", "--true", tmp_path / "true.csv", "--pred",
                          tmp_path / "pred.npy", "--json").stdout)
    assert out["r2"] == pytest.approx(r2_score(y_true, y_pred), rel=1e-12)
    assert out["mse"] == pytest.approx(mean_squared_error(y_true, y_pred), rel=1e-12)
    assert out["mae"] == pytest.approx(mean_absolute_error(y_true, y_pred), rel=1e-12)


def test_score_errors(kreg, tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    np.save(tmp_path / "b.npy", np.zeros(4))
    np.save(tmp_path / "two.npy", np.zeros((3, 2)))
    missing = kreg("score", "--true", tmp_path / "nope.csv", "--pred", tmp_path / "a.npy",
                   check=False)
    assert missing.returncode == 1 and "nope.csv" in missing.stderr  # runtime error, as README says
    mismatch = kreg("score", "--true", tmp_path / "a.npy", "--pred", tmp_path / "b.npy",
                    check=False)
    assert mismatch.returncode == 2
    assert "has 3 rows but" in mismatch.stderr and "has 4" in mismatch.stderr
    ambiguous = kreg("score", "--true", tmp_path / "two.npy", "--pred", tmp_path / "a.npy",
                     check=False)
    assert ambiguous.returncode == 2 and "choose one with --target" in ambiguous.stderr


def test_describe_matches_numpy(kreg, tmp_path):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(200, 3)) * [1, 10, 100]
    np.save(tmp_path / "a.npy", a)
    out = json.loads(kreg("describe", tmp_path / "a.npy", "--json").stdout)
    assert (out["rows"], out["cols"]) == (200, 3)
    for j, col in enumerate(out["columns"]):
        assert col["mean"] == pytest.approx(a[:, j].mean(), rel=1e-12)
        assert col["std"] == pytest.approx(a[:, j].std(), rel=1e-12)
        assert (col["min"], col["max"]) == (a[:, j].min(), a[:, j].max())


def test_bad_data_is_a_runtime_error_with_location(kreg, tmp_path):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3\n")
    proc = kreg("describe", tmp_path / "bad.csv", check=False)
    assert proc.returncode == 1
    assert f"{tmp_path / 'bad.csv'}:3" in proc.stderr
    (tmp_path / "nan.csv").write_text("a,b\n1,nan\n")
    assert kreg("describe", tmp_path / "nan.csv", check=False).returncode == 1
    counted = json.loads(kreg("describe", tmp_path / "nan.csv", "--allow-nonfinite",
                              "--json").stdout)
    assert counted["columns"][1]["nonfinite"] == 1


FASHION = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


def test_describe_reads_fashion_mnist(kreg):
    if not os.path.exists(FASHION):
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    out = json.loads(kreg("describe", FASHION, "--json").stdout)
    assert (out["rows"], out["cols"]) == (10000, 784)
    assert max(c["max"] for c in out["columns"]) == 255
    assert min(c["min"] for c in out["columns"]) == 0


# ---- kreg predict -------------------------------------------------------------
def tutorial_nw_predict(X_train, y_train, X_test, h):
    """The tutorial's VectorizedNadarayaWatsonRegressor.predict."""
    from sklearn.metrics import pairwise_distances
    kernels = np.exp(-0.5 * pairwise_distances(X_test, X_train) ** 2 / h ** 2)
    return (kernels @ y_train) / kernels.sum(axis=1)


@pytest.fixture(scope="module")
def tutorial_csv(tmp_path_factory, kreg_bin):
    import subprocess
    out = tmp_path_factory.mktemp("tutorial")
    subprocess.run([kreg_bin, "generate", "--out-dir", out], check=True, capture_output=True)
    return out


@pytest.mark.parametrize("engine", ["auto", "fused", "vectorized"])
@pytest.mark.parametrize("dtype", ["f64", "f32"])
def test_predict_reproduces_tutorial(kreg, tutorial_csv, tmp_path, engine, dtype):
    pred_path = tmp_path / "pred.csv"
    proc = kreg("predict", "--train", tutorial_csv / "train.csv", "--target", "y", "--query",
                tutorial_csv / "test.csv", "--bandwidth", 0.5, "--engine", engine, "--dtype",
                dtype, "--out", pred_path)
    assert "R^2: 0.788018" in proc.stderr
    X_train, y_train, X_test, y_test = tutorial_generate_data(10000, 10, 123)
    want = tutorial_nw_predict(X_train, y_train, X_test, 0.5)
    got = np.loadtxt(pred_path, delimiter=",", skiprows=1)
    rtol = 1e-9 if dtype == "f64" else 1e-4
    assert np.max(np.abs(got - want)) <= rtol * np.max(np.abs(y_train))


def test_predict_npy_with_separate_targets(kreg, tmp_path):
    kreg("generate", "--format", "npy", "--out-dir", tmp_path)
    proc = kreg("predict", "--train", tmp_path / "X_train.npy", "--train-y",
                tmp_path / "y_train.npy", "--query", tmp_path / "X_test.npy", "--query-y",
                tmp_path / "y_test.npy", "--bandwidth", 0.5, "--out", tmp_path / "p.npy")
    assert "R^2: 0.788018" in proc.stderr
    assert np.load(tmp_path / "p.npy").shape == (2000,)


def test_predict_to_stdout(kreg, tutorial_csv):
    proc = kreg("predict", "--train", tutorial_csv / "train.csv", "--target", "y", "--query",
                tutorial_csv / "test.csv", "--bandwidth", 1)
    lines = proc.stdout.splitlines()
    assert lines[0] == "y" and len(lines) == 2001


def test_predict_compact_kernel_reports_isolated_queries(kreg, tmp_path):
    (tmp_path / "train.csv").write_text("x,y\n0,1\n1,3\n")
    (tmp_path / "query.csv").write_text("x\n0.1\n100\n")
    proc = kreg("predict", "--train", tmp_path / "train.csv", "--target", "y", "--query",
                tmp_path / "query.csv", "--bandwidth", 0.5, "--kernel", "epanechnikov")
    assert proc.stdout.splitlines()[1:] == ["1", "3"]
    assert "1 of 2 queries had no training point within the bandwidth" in proc.stderr


@pytest.mark.parametrize("args,message", [
    (["--bandwidth", "0"], "--bandwidth: '0' is not positive; bandwidths must be > 0"),
    (["--bandwidth", "abc"], "--bandwidth: 'abc' is not a number"),
    (["--bandwidth", "1,2"], "bandwidth has 2 values but X has 10 features"),
    (["--kernel", "box"], "unknown kernel 'box'"),
    (["--engine", "gpu"], "unknown engine 'gpu'"),
    (["--jobs", "0"], "n_jobs = 0 is not valid"),
    (["--target", "nope"], "no column named 'nope'"),
])
def test_predict_bad_arguments(kreg, tutorial_csv, args, message):
    base = ["predict", "--train", tutorial_csv / "train.csv", "--query", tutorial_csv / "test.csv"]
    if "--target" not in args:
        base += ["--target", "y"]
    proc = kreg(*base, *args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr


def test_predict_needs_a_target(kreg, tutorial_csv):
    proc = kreg("predict", "--train", tutorial_csv / "train.csv", "--query",
                tutorial_csv / "test.csv", check=False)
    assert proc.returncode == 2 and "--target COLUMN" in proc.stderr


def test_predict_rejects_mismatched_features(kreg, tmp_path):
    (tmp_path / "train.csv").write_text("a,b,y\n0,1,1\n1,2,3\n")
    (tmp_path / "query.csv").write_text("b,a\n0,1\n")
    proc = kreg("predict", "--train", tmp_path / "train.csv", "--target", "y", "--query",
                tmp_path / "query.csv", check=False)
    assert proc.returncode == 2
    assert "has column 'b' where" in proc.stderr and "has 'a' (feature 0)" in proc.stderr
    (tmp_path / "narrow.csv").write_text("a\n0\n")
    proc = kreg("predict", "--train", tmp_path / "train.csv", "--target", "y", "--query",
                tmp_path / "narrow.csv", check=False)
    assert proc.returncode == 2 and "has 1 features but" in proc.stderr


@pytest.mark.parametrize("engine,ran", [("auto", "fused"), ("vectorized", "vectorized")])
def test_predict_names_the_engine_that_ran(kreg, tutorial_csv, engine, ran):
    proc = kreg("predict", "--train", tutorial_csv / "train.csv", "--target", "y", "--query",
                tutorial_csv / "test.csv", "--bandwidth", 0.5, "--engine", engine, "--out",
                "-")
    assert f"gaussian kernel, {ran} engine" in proc.stderr
