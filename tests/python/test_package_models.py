"""kregpy.LogisticRegression (scikit-learn's estimator checks, its optimum) and
kregpy.augment (the same bytes as `kreg augment`)."""
import struct
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from kreg_package import kreg as kregpy


@parametrize_with_checks([kregpy.LogisticRegression()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_same_optimum_as_sklearn():
    X, y = load_iris(return_X_y=True)
    ours = kregpy.LogisticRegression(C=1.0, tol=1e-10).fit(X, y)
    # kreg fits on standardised features; scikit-learn's equivalent is a pipeline.
    sk = make_pipeline(StandardScaler(), SkLogisticRegression(C=1.0, tol=1e-10, max_iter=10000))
    sk.fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-6)
    assert (ours.predict(X) == sk.predict(X)).all()
    assert ours.score(X, y) == pytest.approx(sk.score(X, y))
    assert ours.coef_.shape == (3, 4) and ours.intercept_.shape == (3,)


def test_labels_any_type_and_binary_decision():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = kregpy.LogisticRegression().fit(X, names)
    assert list(model.classes_) == ["setosa", "versicolor", "virginica"]
    assert set(model.predict(X)) <= set(names)
    binary = kregpy.LogisticRegression().fit(X[y > 0], names[y > 0])
    d = binary.decision_function(X[y > 0])
    assert d.shape == ((y > 0).sum(),)
    np.testing.assert_array_equal(binary.predict(X[y > 0]), binary.classes_[(d > 0).astype(int)])


def test_pixels_without_copy_and_same_bits_for_any_n_jobs():
    X, y = load_digits(return_X_y=True)
    pixels = (X * 16).clip(0, 255).astype(np.uint8)
    a = kregpy.LogisticRegression(n_jobs=1, max_iter=200).fit(pixels, y)
    b = kregpy.LogisticRegression(n_jobs=3, max_iter=200).fit(pixels, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.predict(pixels), b.predict(pixels))
    assert a.score(pixels, y) > 0.95


def test_errors_and_warnings():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="at least 2 classes; y has only one class"):
        kregpy.LogisticRegression().fit(X[:10], y[:10])
    with pytest.raises(ValueError, match="'C' parameter"):
        kregpy.LogisticRegression(C=0).fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        kregpy.LogisticRegression().fit(X, X[:, 0])
    with pytest.warns(ConvergenceWarning, match="did not converge in 2 iterations"):
        kregpy.LogisticRegression(max_iter=2, tol=0).fit(X, y)


def test_verbose_prints_iterations(capfd):
    X, y = load_iris(return_X_y=True)
    kregpy.LogisticRegression().fit(X, y)
    assert capfd.readouterr().err == ""
    with pytest.warns(ConvergenceWarning):
        kregpy.LogisticRegression(verbose=1, max_iter=3, tol=0).fit(X, y)
    err = capfd.readouterr().err
    assert "LogisticRegression: iteration 1, objective" in err


def write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(4)
    imgs = np.zeros((6, 12, 10), dtype=np.uint8)
    imgs[:, 3:9, 2:8] = rng.integers(100, 256, size=(6, 6, 6))
    return imgs


def test_augment_same_bytes_as_the_tool(kreg, images, tmp_path):
    write_idx(tmp_path / "in.idx", images)
    labels = np.arange(6, dtype=np.uint8)
    write_idx(tmp_path / "lab.idx", labels)
    kreg("augment", "--images", tmp_path / "in.idx", "--labels", tmp_path / "lab.idx",
         "--copies", 3, "--seed", 9, "--ops", "shift,rotate,noise", "--out",
         tmp_path / "out.idx", "--labels-out", tmp_path / "lab-out.idx")
    want = kregpy.read_idx(tmp_path / "out.idx")
    got, got_labels = kregpy.augment(images, copies=3, seed=9, ops=("shift", "rotate", "noise"),
                                   labels=labels)
    assert got.dtype == np.uint8 and got.shape == (18, 12, 10)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_labels, kregpy.read_idx(tmp_path / "lab-out.idx"))
    for jobs in (1, 2, 5):
        np.testing.assert_array_equal(kregpy.augment(images, copies=3, seed=9, n_jobs=jobs,
                                                   ops="shift,rotate,noise"), got)
    assert not np.array_equal(kregpy.augment(images, copies=3, seed=10, ops="shift,noise"), got)


def test_augment_refuses_bad_input(images):
    with pytest.raises(ValueError, match=r"shape \(n, height, width\)"):
        kregpy.augment(images.reshape(6, -1))
    with pytest.raises(ValueError, match="uint8 pixels"):
        kregpy.augment(images.astype(float) * 10)
    with pytest.raises(ValueError, match="unknown"):
        kregpy.augment(images, ops="blur")
    with pytest.raises(ValueError, match="one label per image"):
        kregpy.augment(images, labels=[1, 2])
    assert kregpy.augment(images, copies=0).shape == (0, 12, 10)
