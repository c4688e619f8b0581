"""`kreg predict --reg lc|ll` and `kreg tune --reg`: local-constant and
local-linear regression with mixed column types through the binary, against
the Python package's kreg.KernelRegression (the same library: equal to 1e-12)
and statsmodels' KernelReg, and every bad input with its exit status and a
message that names the option, the column and the fix."""
import io
import json
import signal
import subprocess
import time

import numpy as np
import pytest


def write_csv(path, columns, names):
    np.savetxt(path, np.column_stack(columns), delimiter=",", header=",".join(names),
               comments="", fmt="%.17g")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Two continuous columns, an unordered one (3 levels) and an ordered one
    (4 levels); a query file that carries the target."""
    d = tmp_path_factory.mktemp("local")
    rng = np.random.default_rng(7)
    n, m = 80, 12
    X = np.column_stack([rng.normal(size=n + m), rng.uniform(size=n + m),
                         rng.integers(0, 3, n + m), rng.integers(0, 4, n + m)]).astype(float)
    y = (np.sin(X[:, 0]) + X[:, 1] ** 2 + 0.3 * X[:, 2] + 0.1 * X[:, 3]
         + 0.1 * rng.normal(size=n + m))
    names = ["x1", "x2", "g", "o", "y"]
    write_csv(d / "train.csv", [X[:n], y[:n]], names)
    write_csv(d / "query.csv", [X[n:], y[n:]], names)
    return {"dir": d, "X": X[:n], "y": y[:n], "Z": X[n:], "yq": y[n:],
            "train": d / "train.csv", "query": d / "query.csv"}


def base(data, *extra):
    return ["predict", "--train", data["train"], "--target", "y", "--query", data["query"], *extra]


def read_out(text):
    header = text.splitlines()[0].split(",")
    values = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, ndmin=2)
    return header, values


def usage_error(kreg, *args):
    proc = kreg(*args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("kreg: error: "), proc.stderr
    return proc.stderr


@pytest.fixture(scope="module")
def package():
    try:
        import kreg as package
    except ModuleNotFoundError as e:
        if e.name != "kreg":
            raise
        pytest.skip("the kreg package is not installed (make test installs it: "
                    ".venv/bin/python -m pip install --no-build-isolation .)")
    return package


# ------------------------------------------------------------ the fit itself

@pytest.mark.parametrize("reg", ["lc", "ll"])
@pytest.mark.parametrize("discrete", ["statsmodels", "li_racine"])
def test_predict_and_gradients_equal_the_package(kreg, package, mixed, reg, discrete):
    bw = [0.5, 0.3, 0.2, 0.4]
    proc = kreg(*base(mixed, "--reg", reg, "--var-type", "ccuo", "--discrete-kernels", discrete,
                      "--bandwidth", ",".join(map(str, bw)), "--gradients"))
    header, out = read_out(proc.stdout)
    assert header == ["y", "d_x1", "d_x2", "d_g", "d_o"]
    model = package.KernelRegression(reg_type=reg, var_type="ccuo", bandwidth=bw,
                                     discrete_kernels=discrete).fit(mixed["X"], mixed["y"])
    np.testing.assert_allclose(out[:, 0], model.predict(mixed["Z"]), rtol=1e-12, atol=0)
    np.testing.assert_allclose(out[:, 1:], model.gradient(mixed["Z"]), rtol=1e-12, atol=1e-14)
    assert f"{reg} (local-" in proc.stderr and "var_type ccuo" in proc.stderr
    assert "R^2: " in proc.stderr  # the query file carries the target


@pytest.mark.parametrize("bwtype,bw", [("generalized_nn", "9,12,0.3,0.5"),
                                       ("adaptive_nn", "9,12,0.3,0.5")])
def test_nearest_neighbour_bandwidths_equal_the_package(kreg, package, mixed, bwtype, bw):
    proc = kreg(*base(mixed, "--reg", "ll", "--var-type", "ccuo", "--bwtype", bwtype,
                      "--bandwidth", bw))
    _, out = read_out(proc.stdout)
    model = package.KernelRegression(reg_type="ll", var_type="ccuo", bwtype=bwtype,
                                     bandwidth=[float(v) for v in bw.split(",")])
    model.fit(mixed["X"], mixed["y"])
    np.testing.assert_allclose(out[:, 0], model.predict(mixed["Z"]), rtol=1e-12, atol=0)


@pytest.mark.parametrize("criterion", ["cv_ls", "aic"])
def test_select_equals_the_package(kreg, package, mixed, criterion):
    proc = kreg(*base(mixed, "--reg", "lc", "--var-type", "ccuo", "--select", criterion))
    _, out = read_out(proc.stdout)
    model = package.KernelRegression(reg_type="lc", var_type="ccuo", bandwidth=criterion)
    model.fit(mixed["X"], mixed["y"])
    np.testing.assert_allclose(out[:, 0], model.predict(mixed["Z"]), rtol=1e-12, atol=0)
    line = next(s for s in proc.stderr.splitlines() if s.startswith(f"bandwidths by {criterion}:"))
    chosen = [float(v) for v in line.split(": ", 1)[1].split(" (")[0].split(",")]
    np.testing.assert_array_equal(chosen, model.bandwidth_)


def test_statsmodels_kernelreg_agrees(kreg, mixed):
    """statsmodels' KernelReg(reg_type='ll', var_type='cu') at the same bandwidths:
    its fit and marginal effects (kreg's gradients) to 1e-9."""
    sm = pytest.importorskip("statsmodels.nonparametric.kernel_regression",
                             reason="statsmodels is not installed in this environment")
    cols = [0, 2]
    write_csv(mixed["dir"] / "cu_train.csv", [mixed["X"][:, cols], mixed["y"]], ["x1", "g", "y"])
    write_csv(mixed["dir"] / "cu_query.csv", [mixed["Z"][:, cols]], ["x1", "g"])
    proc = kreg("predict", "--train", mixed["dir"] / "cu_train.csv", "--target", "y", "--query",
                mixed["dir"] / "cu_query.csv", "--reg", "ll", "--var-type", "cu", "--bandwidth",
                "0.4,0.3", "--gradients")
    _, out = read_out(proc.stdout)
    model = sm.KernelReg(mixed["y"], mixed["X"][:, cols], var_type="cu", reg_type="ll",
                         bw=[0.4, 0.3])
    mean, mfx = model.fit(mixed["Z"][:, cols])
    np.testing.assert_allclose(out[:, 0], mean, rtol=1e-9)
    np.testing.assert_allclose(out[:, 1:], mfx, rtol=1e-9, atol=1e-12)


def test_local_constant_gaussian_equals_nadaraya_watson(kreg, mixed):
    """--reg lc with continuous columns and the gaussian kernel is
    Nadaraya-Watson: the same predictions as the engine path, to rounding."""
    nw = read_out(kreg(*base(mixed, "--bandwidth", "0.5,0.3,0.7,0.9")).stdout)[1]
    lc = read_out(kreg(*base(mixed, "--reg", "lc", "--bandwidth", "0.5,0.3,0.7,0.9")).stdout)[1]
    np.testing.assert_allclose(lc, nw, rtol=1e-10)


def test_bootstrap_is_reproducible_for_any_jobs(kreg, package, mixed):
    args = base(mixed, "--reg", "ll", "--var-type", "ccuo", "--bandwidth", "0.5,0.3,0.2,0.4",
                "--gradients", "--bootstrap", 25, "--seed", 11)
    one = kreg(*args, "--jobs", 1).stdout
    two = kreg(*args, "--jobs", 2).stdout
    assert one == two  # the same bytes
    header, out = read_out(one)
    assert header == ["y", "d_x1", "d_x2", "d_g", "d_o", "se_y", "se_d_x1", "se_d_x2", "se_d_g",
                      "se_d_o"]
    assert np.all(out[:, 5:] > 0)
    model = package.KernelRegression(reg_type="ll", var_type="ccuo", bandwidth=[0.5, 0.3, 0.2, 0.4])
    boot = model.fit(mixed["X"], mixed["y"]).bootstrap(mixed["Z"], n_boot=25, random_state=11,
                                                       gradients=True)
    np.testing.assert_allclose(out[:, 5], boot["mean_se"], rtol=1e-12)
    np.testing.assert_allclose(out[:, 6:], boot["gradient_se"], rtol=1e-12)
    other = kreg(*args[:-1], 12, "--jobs", 1).stdout
    assert other != one  # the seed matters
    assert "bootstrap: 25 replicates, seed 11" in kreg(*args).stderr


def test_outputs_to_npy_and_nonfinite_queries(kreg, mixed, tmp_path):
    query = tmp_path / "q.csv"
    query.write_text("x1,x2,g,o\n0.1,0.5,1,2\nnan,0.5,1,2\n-0.3,0.2,0,1\n")
    out = tmp_path / "p.npy"
    proc = kreg("predict", "--train", mixed["train"], "--target", "y", "--query", query, "--reg",
                "ll", "--var-type", "ccuo", "--bandwidth", "0.5,0.3,0.2,0.4", "--gradients",
                "--allow-nonfinite", "--out", out)
    got = np.load(out)
    assert got.shape == (3, 5)
    assert np.all(np.isnan(got[1])) and np.all(np.isfinite(got[[0, 2]]))
    assert "predicted NaN for 1 of 3 query rows" in proc.stderr


def test_isolated_and_rank_deficient_queries_are_noted(kreg, mixed, tmp_path):
    query = tmp_path / "far.csv"
    query.write_text("x1,x2,g,o\n40,0.5,1,2\n0.1,0.5,1,2\n")
    args = ["predict", "--train", mixed["train"], "--target", "y", "--query", query]
    far = kreg(*args, "--reg", "lc", "--var-type", "ccuo", "--kernel", "epanechnikov",
               "--bandwidth", "0.5,0.5,0.3,0.5")
    assert "note: 1 of 2 queries had no training point with a non-zero weight" in far.stderr
    assert np.all(np.isfinite(read_out(far.stdout)[1]))
    # lambda 0 for g: only the query's own level has weight, so g is constant
    # in every window and its slope cannot be identified.
    flat = kreg(*args, "--reg", "ll", "--var-type", "ccuo", "--bandwidth", "0.8,0.5,0,0.5")
    assert "note: 2 of 2 queries could not identify every local-linear slope" in flat.stderr
    assert np.all(np.isfinite(read_out(flat.stdout)[1]))


# ------------------------------------------------------------ kreg tune --reg

@pytest.mark.parametrize("criterion", ["cv_ls", "aic"])
def test_tune_writes_the_selection(kreg, package, mixed, tmp_path, criterion):
    out, csv, refit = tmp_path / "t.json", tmp_path / "t.csv", tmp_path / "r.csv"
    proc = kreg("tune", "--train", mixed["train"], "--target", "y", "--reg", "ll", "--var-type",
                "ccuo", "--select", criterion, "--out", out, "--csv", csv, "--test",
                mixed["query"], "--refit", refit)
    res = json.loads(out.read_text())
    assert res["reg"] == "ll" and res["var_type"] == "ccuo" and res["criterion"] == criterion
    assert res["features"] == ["x1", "x2", "g", "o"] and res["n_train"] == 80
    assert res["bwtype"] == "fixed" and res["discrete_kernels"] == "statsmodels"
    assert res["evaluations"] > 0 and isinstance(res["converged"], bool)
    model = package.KernelRegression(reg_type="ll", var_type="ccuo", bandwidth=criterion)
    model.fit(mixed["X"], mixed["y"])
    np.testing.assert_array_equal(res["bandwidth"], model.bandwidth_)
    assert res["objective"] == model.criterion_
    assert res["evaluations"] == model.n_evaluations_
    table = np.genfromtxt(csv, delimiter=",", names=True, dtype=None, encoding="utf-8")
    assert list(table["feature"]) == ["x1", "x2", "g", "o"]
    assert list(table["var_type"]) == ["c", "c", "u", "o"]
    np.testing.assert_array_equal(table["bandwidth"], model.bandwidth_)
    pred = np.loadtxt(refit, delimiter=",", skiprows=1)
    np.testing.assert_allclose(pred, model.predict(mixed["Z"]), rtol=1e-12)
    assert res["refit"]["test_r2"] == pytest.approx(
        1 - np.sum((mixed["yq"] - pred) ** 2) / np.sum((mixed["yq"] - mixed["yq"].mean()) ** 2),
        rel=1e-12)
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["feature", "type", "bandwidth"]
    assert [s.split()[:2] for s in lines[1:5]] == [["x1", "continuous"], ["x2", "continuous"],
                                                   ["g", "unordered"], ["o", "ordered"]]
    assert lines[5].startswith(f"{criterion} (ll): ")
    assert any(s.startswith("refit on --train, R^2 on --test:") for s in lines[6:])
    # The smoothed-out columns: the same in the JSON and on stdout.
    assert [s.split("'")[1] for s in lines[6:] if s.startswith("  column '")] == res["smoothed_out"]


def test_tune_defaults_to_cv_ls_and_nn(kreg, mixed, tmp_path):
    out = tmp_path / "nn.json"
    kreg("tune", "--train", mixed["train"], "--target", "y", "--reg", "lc", "--var-type", "ccuo",
         "--bwtype", "generalized_nn", "--out", out, "--quiet")
    res = json.loads(out.read_text())
    assert res["criterion"] == "cv_ls" and res["bwtype"] == "generalized_nn"
    k = res["bandwidth"][:2]
    assert all(v == int(v) and 1 <= v <= 79 for v in k)  # whole numbers of neighbours


# ------------------------------------------------------------ bad input

def test_var_type_length_and_letters(kreg, mixed):
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--var-type", "cc", "--bandwidth", "1"))
    assert "--var-type 'cc' has 2 letters but" in msg
    assert "4 feature columns ('x1', 'x2', 'g', 'o')" in msg
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--var-type", "cxuo", "--bandwidth", "1"))
    assert "--var-type" in msg and "character 2 is 'x'" in msg


def test_bandwidth_count_and_values(kreg, mixed):
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--bandwidth", "0.5,0.5"))
    assert "--bandwidth has 2 values for 4 feature columns ('x1', 'x2', 'g', 'o')" in msg
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--bandwidth", "0.5,abc,1,1"))
    assert "--bandwidth: 'abc' is not a number" in msg
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--bandwidth", "0.5,-1,1,1"))
    assert "column 'x2' (continuous) needs a bandwidth h > 0; got -1" in msg
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--bandwidth", "0.5,inf,1,1"))
    assert "'inf' is not finite" in msg


def test_discrete_lambda_out_of_range_names_column_and_range(kreg, mixed):
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--var-type", "ccuo", "--bandwidth",
                                  "0.5,0.5,0.2,1.5"))
    assert "column 'o' (ordered) takes lambda in [0, 1]; got 1.5" in msg
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--var-type", "ccuo", "--bandwidth",
                                  "0.5,0.5,0.9,0.5"))
    assert "column 'g' (unordered) takes lambda in [0, 0.666667]" in msg
    assert "Aitchison-Aitken's (c - 1) / c for its 3 levels; got 0.9" in msg
    # Li-Racine's unordered kernel takes the whole [0, 1].
    kreg(*base(mixed, "--reg", "ll", "--var-type", "ccuo", "--discrete-kernels", "li_racine",
               "--bandwidth", "0.5,0.5,0.9,0.5"))


def test_nearest_neighbour_k(kreg, mixed):
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--var-type", "ccuo", "--bwtype",
                                  "generalized_nn", "--bandwidth", "2.5,9,0.2,0.5"))
    assert ("column 'x1' (continuous, --bwtype generalized_nn) takes a whole number of neighbours "
            "k in [1, 79]") in msg and "got 2.5" in msg
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--var-type", "ccuo", "--bwtype",
                                  "adaptive_nn", "--bandwidth", "9,80,0.2,0.5"))
    assert "column 'x2'" in msg and "[1, 79]" in msg and "got 80" in msg


@pytest.mark.parametrize("value,words", [
    ("1", "--bootstrap 1: a standard error needs at least 2 replicates"),
    ("0", "--bootstrap 0: a standard error needs at least 2 replicates"),
    ("-3", "--bootstrap -3: a standard error needs at least 2 replicates"),
    ("2.5", "--bootstrap: '2.5' is not a whole number"),
])
def test_bootstrap_needs_two_replicates(kreg, mixed, value, words):
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--bandwidth", "1", "--bootstrap", value))
    assert words in msg


def test_bootstrap_not_a_number(kreg, mixed):
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--bandwidth", "1", "--bootstrap", "many"))
    assert "--bootstrap: 'many' is not a whole number; give the replicate count B >= 2" in msg
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--bandwidth", "1", "--bootstrap",
                                  "99999999999999999999"))
    assert "at most 1000000000 replicates" in msg


def test_non_numeric_cell_is_a_data_error_with_location(kreg, mixed, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,g,o,y\n0.1,0.2,1,2,3\n0.3,oops,1,2,4\n0.5,0.6,0,1,5\n")
    proc = kreg("predict", "--train", bad, "--target", "y", "--query", mixed["query"], "--reg",
                "ll", "--bandwidth", "1", check=False)
    assert proc.returncode == 1, proc.stderr
    assert f"{bad}:3" in proc.stderr and "oops" in proc.stderr
    proc = kreg("tune", "--train", bad, "--target", "y", "--reg", "ll", check=False)
    assert proc.returncode == 1 and f"{bad}:3" in proc.stderr


def test_too_few_training_rows(kreg, mixed, tmp_path):
    one = tmp_path / "one.csv"
    one.write_text("x1,x2,g,o,y\n0.1,0.2,1,2,3\n")
    proc = kreg("predict", "--train", one, "--target", "y", "--query", mixed["query"], "--reg",
                "ll", "--bandwidth", "1", check=False)
    assert proc.returncode == 1
    assert "--reg needs at least 2 training rows" in proc.stderr


@pytest.mark.parametrize("extra,words", [
    (["--dtype", "f32"], "--reg computes in float64; drop --dtype f32"),
    (["--shard", "1/2", "--out", "p.csv"], "--shard does not apply with --reg"),
])
def test_options_that_do_not_apply_with_reg(kreg, mixed, extra, words):
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--bandwidth", "1", *extra))
    assert words in msg


def test_engine_auto_and_device_cpu_are_accepted(kreg, mixed):
    proc = kreg(*base(mixed, "--reg", "ll", "--bandwidth", "1", "--engine", "auto", "--device",
                      "cpu"))
    assert "local engine" in proc.stderr


@pytest.mark.parametrize("reg", ["ll", "lc"])
def test_a_named_engine_fits_through_the_nw_engines(kreg, mixed, reg, tmp_path):
    """Continuous columns (no --var-type), fixed bandwidths, the Gaussian:
    --engine fused computes the local engine's fits and gradients from the
    Nadaraya-Watson engine's weighted means, and says so."""
    args = base(mixed, "--reg", reg, "--bandwidth", "0.8,0.5,1.5,2", "--gradients", "--out", "-")
    local = kreg(*args)
    fused = kreg(*args, "--engine", "fused")
    assert "local engine" in local.stderr and "fused engine" in fused.stderr
    h_local, v_local = read_out(local.stdout)
    h_fused, v_fused = read_out(fused.stdout)
    assert h_local == h_fused
    np.testing.assert_allclose(v_fused, v_local, rtol=1e-9, atol=1e-12)
    # tune's cv_ls on the engine: a selection as good, to the optimiser's
    # tolerance (the bandwidths of columns cv_ls finds irrelevant run off to
    # 1e16 or so on either engine, so those are not compared).
    res = []
    for extra in ([], ["--engine", "fused"]):
        out = tmp_path / f"t{len(res)}.json"
        kreg("tune", "--train", mixed["train"], "--target", "y", "--reg", reg, "--out", out,
             *extra)
        res.append(json.loads(out.read_text()))
    assert res[1]["objective"] == pytest.approx(res[0]["objective"], rel=1e-6)


@pytest.mark.parametrize("extra,words", [
    (["--var-type", "ccuo"], "take continuous columns only"),
    (["--kernel", "epanechnikov"], "only the Gaussian is a product kernel"),
    (["--bwtype", "generalized_nn"], "take fixed bandwidths only"),
])
def test_engines_refuse_what_they_cannot_fit(kreg, mixed, extra, words):
    bandwidth = "5" if "generalized_nn" in extra else "1,1,0.5,0.5"
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--bandwidth", bandwidth, "--engine",
                                  "fused", *extra))
    assert words in msg and "--engine auto --device cpu" in msg


def test_device_cuda_without_a_gpu_says_what_to_use(kreg, mixed):
    info = json.loads(kreg("info", "--json").stdout)
    if any(e["device"] != "cpu" for e in info["engines"]):
        pytest.skip("a CUDA device is here: --device cuda runs")
    msg = usage_error(kreg, *base(mixed, "--reg", "ll", "--bandwidth", "1", "--device", "cuda"))
    assert "--device cpu" in msg


@pytest.mark.parametrize("extra", [["--gradients"], ["--var-type", "cccc"], ["--select", "aic"],
                                   ["--bootstrap", "10"], ["--bwtype", "adaptive_nn"],
                                   ["--discrete-kernels", "li_racine"]])
def test_local_options_need_reg(kreg, mixed, extra):
    msg = usage_error(kreg, *base(mixed, "--bandwidth", "1", *extra))
    assert f"{extra[0]} belongs to local regression: add --reg ll" in msg


def test_seed_needs_bootstrap(kreg, mixed):
    assert "--seed seeds --bootstrap's resamples" in usage_error(
        kreg, *base(mixed, "--bandwidth", "1", "--seed", "3"))
    assert "add --bootstrap B" in usage_error(
        kreg, *base(mixed, "--reg", "ll", "--bandwidth", "1", "--seed", "3"))


def test_bandwidth_or_select(kreg, mixed):
    assert "--reg needs bandwidths: --bandwidth" in usage_error(kreg, *base(mixed, "--reg", "ll"))
    assert "give --bandwidth or --select, not both" in usage_error(
        kreg, *base(mixed, "--reg", "ll", "--bandwidth", "1", "--select", "aic"))


@pytest.mark.parametrize("option,value,words", [
    ("--reg", "loclin", "unknown regression type (--reg) 'loclin'; choose lc or ll"),
    ("--bwtype", "knn", "unknown bandwidth type (--bwtype) 'knn'"),
    ("--select", "bic", "unknown bandwidth criterion (--select) 'bic'; choose cv_ls or aic"),
    ("--discrete-kernels", "np", "unknown discrete kernels 'np'"),
    ("--kernel", "cosine", "cosine"),
])
def test_unknown_names(kreg, mixed, option, value, words):
    args = ["--reg", "ll", "--bandwidth", "1"] if option != "--reg" else ["--bandwidth", "1"]
    if option == "--select":
        args = ["--reg", "ll"]
    msg = usage_error(kreg, *base(mixed, *args, option, value))
    assert words in msg


@pytest.mark.parametrize("extra", [["--bandwidths", "0.1,1"], ["--cv", "loo"],
                                   ["--optimize", "scalar"], ["--scoring", "mse"],
                                   ["--plot", "p.svg"], ["--resume"], ["--seed", "2"],
                                   ["--no-shuffle"], ["--shuffle"]])
def test_tune_options_that_do_not_apply_with_reg(kreg, mixed, extra):
    msg = usage_error(kreg, "tune", "--train", mixed["train"], "--target", "y", "--reg", "ll",
                      *extra)
    name = "--shuffle/--no-shuffle" if "shuffle" in extra[0] else extra[0]
    assert f"{name} does not apply with --reg" in msg


def test_tune_local_usage(kreg, mixed, tmp_path):
    msg = usage_error(kreg, "tune", "--train", mixed["train"], "--target", "y", "--select", "aic")
    assert "--select belongs to local regression: add --reg ll" in msg
    msg = usage_error(kreg, "tune", "--train", mixed["train"], "--target", "y", "--reg", "ll",
                      "--test", mixed["query"])
    assert "give --refit FILE, or drop --test" in msg
    msg = usage_error(kreg, "tune", "--train", mixed["train"], "--target", "y", "--reg", "ll",
                      "--var-type", "ccu")
    assert "--var-type 'ccu' has 3 letters" in msg
    msg = usage_error(kreg, "tune", "--train", mixed["train"], "--target", "y", "--reg", "ll",
                      "--out", tmp_path / "same.json", "--csv", tmp_path / "same.json")
    assert "--out and --csv both name" in msg


# ------------------------------------------------------------ stop requests

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("command", ["tune", "predict"])
def test_a_signal_stops_selection_and_bootstrap(kreg_bin, tmp_path, sig, command):
    """Selecting bandwidths (tune) and bootstrapping 2000 queries (predict) on
    20000 points on one thread take minutes; a stop request ends them within seconds with
    exit code 130, the output untouched."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20_000, 2))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", np.sin(X[:, 0]) + X[:, 1])
    np.save(tmp_path / "Z.npy", X[:2000])  # predicted in a fraction of a second
    data = ["--train", tmp_path / "X.npy", "--train-y", tmp_path / "y.npy", "--reg", "ll",
            "--jobs", 1]
    out = tmp_path / ("out.json" if command == "tune" else "out.npy")
    out.write_bytes(b"old")
    if command == "tune":
        args = ["tune", *data, "--out", out]
    else:
        args = ["predict", *data, "--query", tmp_path / "Z.npy", "--bandwidth", "0.5",
                "--bootstrap", 200, "--out", out]
    proc = subprocess.Popen([kreg_bin, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # kreg installs its handlers first thing in main: wait for them, then let
    # it reach the computation (reading two small NPY files takes far less).
    deadline = time.monotonic() + 30
    while True:
        with open(f"/proc/{proc.pid}/status") as f:
            mask = next(int(s.split()[1], 16) for s in f if s.startswith("SigCgt:"))
        if all(mask & (1 << (s - 1)) for s in (signal.SIGINT, signal.SIGTERM)):
            break
        assert time.monotonic() < deadline, "kreg installed no signal handlers within 30 s"
        time.sleep(0.01)
    time.sleep(1.0)
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(sig)
    try:
        _, stderr = proc.communicate(timeout=10)  # a hang guard, not a measurement
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"kreg {command} was still running 10 s after {sig.name}")
    assert proc.returncode == 130, stderr
    assert "kreg: interrupted" in stderr
    assert out.read_bytes() == b"old"


def test_a_criterion_infinite_everywhere_chooses_nothing(kreg, tmp_path):
    """aic is +inf wherever tr(H) + 2 >= n: with 2 training rows at every
    bandwidth, so there is no choice to report (exit 1, not a made-up one)."""
    two = tmp_path / "two.csv"
    two.write_text("x,y\n1,2\n2,3\n")
    proc = kreg("predict", "--train", two, "--target", "y", "--query", two, "--reg", "ll",
                "--select", "aic", check=False)
    assert proc.returncode == 1, proc.stderr
    assert "--select aic: the criterion is inf at every one of the" in proc.stderr
    assert "aic needs the hat matrix's trace + 2 below n = 2" in proc.stderr
    proc = kreg("tune", "--train", two, "--target", "y", "--reg", "ll", "--select", "aic",
                check=False)
    assert proc.returncode == 1 and "nothing to choose" in proc.stderr
    # cv_ls is finite there: a choice.
    assert "cv_ls (ll): " in kreg("tune", "--train", two, "--target", "y", "--reg", "ll").stdout


def test_noise_columns_are_smoothed_out_and_aic_stays_finite(kreg, tmp_path):
    """y depends on x1 alone: aic smooths some of the noise columns out (a
    lambda at its upper bound, a bandwidth beyond the range) and says so,
    never x1. Its objective is
    finite: an ordered lambda of exactly 1 leaves every point without weight,
    and the fallback to the nearest point (the point itself) used to count 0
    in the hat matrix's trace, scoring that interpolation aic = -inf."""
    rng = np.random.default_rng(1)
    n = 150
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    g, o = rng.integers(0, 3, n), rng.integers(0, 4, n)
    y = np.sin(2 * x1) + 0.1 * rng.normal(size=n)
    write_csv(tmp_path / "irr.csv", [x1, x2, g, o, y], ["x1", "x2", "g", "o", "y"])
    out = tmp_path / "irr.json"
    proc = kreg("tune", "--train", tmp_path / "irr.csv", "--target", "y", "--reg", "lc",
                "--var-type", "ccuo", "--select", "aic", "--out", out, "--quiet")
    res = json.loads(out.read_text())
    assert res["objective"] is not None and np.isfinite(res["objective"])  # JSON null: -inf
    # Some of the noise columns, never x1, in the JSON and on stdout alike.
    assert res["smoothed_out"] and set(res["smoothed_out"]) <= {"x2", "g", "o"}
    lines = proc.stdout.splitlines()
    for name in res["smoothed_out"]:
        kind = ("bandwidth 5 or more times its range" if name == "x2" else
                "lambda at its upper bound, the most smoothing its kernel allows")
        assert any(s.startswith(f"  column '{name}': {kind}") for s in lines), proc.stdout
