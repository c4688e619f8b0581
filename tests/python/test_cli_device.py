"""--device on the compute commands (predict, tune, infer) and `kreg info`'s
CUDA lines, through the kreg binary. Where there is no CUDA device (or the
CUDA engine is not built) asking for CUDA fails with the reason and names
--device cpu, and auto runs on the CPU; on a GPU machine the same commands run
on the device (the engine report says cuda)."""

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def cuda_engine(kreg):
    """kreg info's CUDA engine status: {'built', 'usable', 'reason'}."""
    return json.loads(kreg("info", "--json").stdout)["cuda"]["engine"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("device")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    y = np.sin(X).sum(axis=1) + 0.1 * rng.normal(size=300)
    np.savetxt(d / "train.csv", np.column_stack([X, y]), delimiter=",",
               header="a,b,c,y", comments="")
    np.savetxt(d / "query.csv", X[:40], delimiter=",", header="a,b,c", comments="")
    return d


def predict(kreg, data, *extra, check=True):
    return kreg("predict", "--train", data / "train.csv", "--target", "y", "--query",
                data / "query.csv", "--out", data / "pred.csv", *extra, check=check)


def test_info_says_whether_the_cuda_engine_runs(kreg, cuda_engine):
    text = kreg("info").stdout
    assert "CUDA engine:" in text
    if cuda_engine["usable"]:
        assert cuda_engine["reason"] == ""
        assert "runs on" in text
    else:
        assert cuda_engine["reason"]
        assert f"not available: {cuda_engine['reason']}" in text
        if cuda_engine["built"]:
            assert cuda_engine["reason"].startswith("no CUDA device here: ")


def test_cpu_and_auto_run(kreg, data, cuda_engine):
    cpu = predict(kreg, data, "--device", "cpu")
    assert "fused engine" in cpu.stderr
    auto = predict(kreg, data, "--device", "auto")
    want = "cuda engine" if cuda_engine["usable"] else "fused engine"
    assert want in auto.stderr


def test_cuda_without_a_device_says_why_and_names_the_cpu(kreg, data, cuda_engine):
    if cuda_engine["usable"]:
        pytest.skip("a CUDA device is present here")
    for device in ("cuda", "cuda:1"):
        r = predict(kreg, data, "--device", device, check=False)
        assert r.returncode == 2, r.stderr
        assert f"device '{device}'" in r.stderr
        assert cuda_engine["reason"] in r.stderr
        assert "--device cpu" in r.stderr
    r = kreg("tune", "--train", data / "train.csv", "--target", "y", "--cv", "3",
             "--bandwidths", "logspace:-1:1:3", "--device", "cuda", check=False)
    assert r.returncode == 2 and "--device cpu" in r.stderr, r.stderr


@pytest.mark.parametrize("bad,says", [
    ("gpu", "unknown device 'gpu'; choose auto, cpu, cuda or cuda:K"),
    ("cuda:x", "device 'cuda:x': the CUDA device's number after 'cuda:'"),
    ("cuda:-1", "device 'cuda:-1'"),
    ("cuda:", "device 'cuda:'"),
])
def test_bad_device_names_are_refused(kreg, data, bad, says):
    r = predict(kreg, data, "--device", bad, check=False)
    assert r.returncode == 2
    assert says in r.stderr


def test_tune_runs_on_the_cpu(kreg, data, tmp_path):
    out = tmp_path / "tune.json"
    r = kreg("tune", "--train", data / "train.csv", "--target", "y", "--cv", "3",
             "--bandwidths", "logspace:-1:1:3", "--device", "cpu", "--out", out)
    assert "fused engine" in r.stderr
    assert out.exists()


def test_infer_network_on_cuda_without_a_device(kreg, cuda_engine):
    if cuda_engine["usable"]:
        pytest.skip("a CUDA device is present here")
    r = kreg("infer", "--data", "/usr/share/datasets/fashion-mnist", "--train-rows", "200",
             "--test-rows", "100", "--mode", "network", "--device", "cuda", check=False)
    if "not found" in r.stderr and "fashion" in r.stderr:
        pytest.skip("no Fashion-MNIST here: " + r.stderr.strip())
    assert r.returncode == 2, r.stderr
    assert "--device cpu" in r.stderr and cuda_engine["reason"] in r.stderr
