"""device= on the scikit-learn estimators: cpu and auto run where there is no
CUDA device (auto on the CPU), cuda raises ValueError saying why and naming
the CPU, bad names are refused; on a GPU machine cuda runs and agrees with
the CPU."""

import json
import subprocess

import numpy as np
import pytest

from kreg_package import kreg  # skips this module when kreg is not installed

from kreg import NadarayaWatsonCV, NadarayaWatsonRegressor  # noqa: E402


@pytest.fixture(scope="module")
def cuda_engine(kreg_bin):
    info = subprocess.run([kreg_bin, "info", "--json"], check=True, capture_output=True,
                          text=True).stdout
    return json.loads(info)["cuda"]["engine"]


def data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.sin(X).sum(axis=1) + 0.1 * rng.normal(size=n)
    return X, y


def test_cpu_runs_the_cpu_engine():
    X, y = data()
    model = NadarayaWatsonRegressor(0.5, device="cpu").fit(X, y)
    assert model.engine_ == "fused"
    search = NadarayaWatsonCV(bandwidths=[0.3, 1.0], cv=3, device="cpu").fit(X, y)
    assert search.engine_ == "fused"
    assert NadarayaWatsonRegressor(0.5, device="cpu").get_params()["device"] == "cpu"


def test_auto_runs_where_it_can(cuda_engine):
    X, y = data()
    model = NadarayaWatsonRegressor(0.5, device="auto").fit(X, y)
    assert model.engine_ == ("cuda" if cuda_engine["usable"] else "fused")
    np.testing.assert_allclose(
        model.predict(X), NadarayaWatsonRegressor(0.5, device="cpu").fit(X, y).predict(X),
        rtol=0, atol=1e-9 * np.abs(y).max())


def test_cuda_without_a_device_says_why(cuda_engine):
    if cuda_engine["usable"]:
        pytest.skip("a CUDA device is present here")
    X, y = data()
    with pytest.raises(ValueError, match="--device cpu") as e:
        NadarayaWatsonRegressor(0.5, device="cuda").fit(X, y)
    assert cuda_engine["reason"] in str(e.value)
    with pytest.raises(ValueError, match="device 'cuda:1'"):
        NadarayaWatsonCV(bandwidths=[0.3, 1.0], cv=3, device="cuda:1").fit(X, y)


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "cuda:-2"])
def test_bad_device_names_are_refused(bad):
    X, y = data()
    with pytest.raises(ValueError, match=f"device '{bad}'"):
        NadarayaWatsonRegressor(0.5, device=bad).fit(X, y)
    with pytest.raises(ValueError, match="must be a str"):
        NadarayaWatsonRegressor(0.5, device=1).fit(X, y)


def test_cuda_agrees_with_the_cpu(cuda_engine):
    if not cuda_engine["usable"]:
        pytest.skip(cuda_engine["reason"])
    X, y = data(2000)
    for kernel in ("gaussian", "epanechnikov"):
        gpu = NadarayaWatsonRegressor(0.4, kernel, device="cuda").fit(X, y)
        cpu = NadarayaWatsonRegressor(0.4, kernel, device="cpu").fit(X, y)
        assert gpu.engine_ == "cuda"
        np.testing.assert_allclose(gpu.predict(X), cpu.predict(X), rtol=0,
                                   atol=1e-9 * np.abs(y).max())
    a = NadarayaWatsonCV(bandwidths=[0.1, 0.3, 1.0], cv="loo", device="cuda").fit(X, y)
    b = NadarayaWatsonCV(bandwidths=[0.1, 0.3, 1.0], cv="loo", device="cpu").fit(X, y)
    np.testing.assert_allclose(a.cv_results_["mean_test_score"],
                               b.cv_results_["mean_test_score"], atol=1e-9)
