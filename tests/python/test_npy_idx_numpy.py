"""kreg's NPY and IDX readers against files written by numpy.

numpy writes the files (np.save, np.lib.format.write_array for the 2.0 and
3.0 formats, tobytes for IDX) into tmp_path; `kreg_probe read FILE` reads them
back through kreg::io::read_table<double> and prints JSON
{"rows", "cols", "data": [row-major values]}. Every value must come back
exactly (all test values are exact in float64).

Run with KREG_PROBE=/path/to/kreg_probe; without it every test is skipped.
"""

import gzip
import json
import os
import struct
import subprocess

import numpy as np
import pytest

DTYPES = ["<f4", "<f8", "<i4", "<i8", "|u1", "|i1"]
SHAPES = [(), (5,), (1,), (3, 4), (4, 1), (1, 4), (2, 3, 4), (2, 1, 3, 2), (0,), (0, 3)]
FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(scope="module")
def probe(probe_bin):
    return probe_bin


def read(probe, path):
    """kreg's (rows, cols, data) for `path`; fails on a kreg error."""
    done = subprocess.run([probe, "read", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"kreg_probe read {path} failed: {done.stderr}"
    out = json.loads(done.stdout)
    data = np.array(out["data"], dtype=np.float64)
    return out["rows"], out["cols"], data


def read_error(probe, path):
    """kreg's error message for `path` (the probe exits 1 and prints it)."""
    done = subprocess.run([probe, "read", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, f"expected an error for {path}, got {done.stdout[:200]}"
    assert done.stdout == ""
    return done.stderr.strip()


def sample(dtype, shape, seed=0):
    """Values of `dtype` that span its range and are exact in float64."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if dt.kind == "f":
        values = rng.standard_normal(n) * 1000
        if n >= 3:
            values[:3] = [np.finfo(dt).max, np.finfo(dt).tiny, -0.0]
    else:
        info = np.iinfo(dt)
        lo, hi = max(info.min, -(2**53)), min(info.max, 2**53)
        values = rng.integers(lo, hi, size=n, endpoint=True)
        if n >= 2:
            values[:2] = [lo, hi]
    return values.astype(dt).reshape(shape)


def expected_matrix(arr):
    """The rows x cols matrix kreg promises: (n, ...) -> n x prod(...)."""
    if arr.ndim == 0:
        return arr.reshape(1, 1)
    return arr.reshape(arr.shape[0], int(np.prod(arr.shape[1:], dtype=np.int64)))


def check_same(probe, path, arr):
    rows, cols, data = read(probe, path)
    want = expected_matrix(np.asarray(arr)).astype(np.float64)
    assert (rows, cols) == want.shape
    # Row-major, whatever order the file stores.
    np.testing.assert_array_equal(data, want.ravel(order="C"))
    # Bit for bit (the sign of -0.0 too).
    assert data.tobytes() == want.ravel(order="C").tobytes()


# --------------------------------------------------------------------- NPY


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_npy_c_order(probe, tmp_path, dtype, shape):
    arr = sample(dtype, shape)
    path = tmp_path / "a.npy"
    np.save(path, arr)
    check_same(probe, path, arr)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (1, 5), (5, 1), (7,)], ids=str)
def test_npy_fortran_order(probe, tmp_path, dtype, shape):
    arr = np.asfortranarray(sample(dtype, shape, seed=1))
    path = tmp_path / "f.npy"
    np.save(path, arr)
    check_same(probe, path, arr)


def test_npy_fortran_float32_3x4_is_transposed_correctly(probe, tmp_path):
    arr = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    path = tmp_path / "f.npy"
    np.save(path, arr)
    with open(path, "rb") as f:
        np.lib.format.read_magic(f)
        _, fortran_order, _ = np.lib.format.read_array_header_1_0(f)
    assert fortran_order  # numpy did write Fortran order
    rows, cols, data = read(probe, path)
    assert (rows, cols) == (3, 4)
    assert data.reshape(3, 4).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


def test_npy_fortran_order_3d_is_rejected(probe, tmp_path):
    arr = np.asfortranarray(sample("<f8", (2, 3, 4)))
    path = tmp_path / "f3.npy"
    np.save(path, arr)
    assert read_error(probe, path) == (
        f"kreg_probe: {path}: the array has shape (2, 3, 4) in Fortran order; Fortran-order "
        "arrays with more than 2 dimensions are not supported; save with np.ascontiguousarray")
    # The suggested fix works.
    np.save(path, np.ascontiguousarray(arr))
    check_same(probe, path, arr)


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
@pytest.mark.parametrize("dtype", ["<f4", "<f8", "|u1"])
def test_npy_versions(probe, tmp_path, version, dtype):
    arr = sample(dtype, (6, 5), seed=2)
    path = tmp_path / "v.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array(f, arr, version=version)
    with open(path, "rb") as f:
        assert np.lib.format.read_magic(f) == version
    check_same(probe, path, arr)


def test_npy_non_contiguous_source(probe, tmp_path):
    # np.save of a strided view writes it in C order.
    base = sample("<f8", (6, 8), seed=3)
    view = base[::2, 1::3]
    path = tmp_path / "s.npy"
    np.save(path, view)
    check_same(probe, path, view)


def test_npy_big_endian_is_rejected_naming_the_dtype(probe, tmp_path):
    path = tmp_path / "be.npy"
    np.save(path, np.arange(6, dtype=">f8").reshape(2, 3))
    message = read_error(probe, path)
    assert "'>f8'" in message
    assert message == (
        f"kreg_probe: {path}: unsupported NPY dtype '>f8' (big-endian; convert with "
        "arr.astype('<f8')); kreg reads '<f4', '<f8', '<i4', '<i8', '|u1' ('<u1') and '|i1'")


@pytest.mark.parametrize("dtype", [">i4", "<f2", "<c16", "|b1", "<u4", "<i2", "<U3", "|S2"])
def test_npy_other_dtypes_are_rejected_naming_the_dtype(probe, tmp_path, dtype):
    arr = np.zeros(3, dtype=dtype)
    path = tmp_path / "x.npy"
    np.save(path, arr)
    descr = np.lib.format.dtype_to_descr(arr.dtype)
    message = read_error(probe, path)
    assert f"unsupported NPY dtype '{descr}'" in message
    assert "kreg reads '<f4', '<f8', '<i4', '<i8', '|u1' ('<u1') and '|i1'" in message


def test_npy_object_array_is_rejected(probe, tmp_path):
    path = tmp_path / "o.npy"
    np.save(path, np.array([1, "a", None], dtype=object), allow_pickle=True)
    assert read_error(probe, path) == (
        f"kreg_probe: {path}: unsupported NPY dtype '|O' (an object array); kreg reads '<f4', "
        "'<f8', '<i4', '<i8', '|u1' ('<u1') and '|i1'")


def test_npy_nan_is_rejected_by_default(probe, tmp_path):
    arr = np.arange(6, dtype=np.float64).reshape(2, 3)
    arr[1, 2] = np.nan
    arr[1, 1] = np.inf  # comes first in row-major order
    path = tmp_path / "nan.npy"
    np.save(path, arr)
    assert read_error(probe, path) == (
        f"kreg_probe: {path}: row 1, column 1 (0-based) is inf; kreg rejects NaN/Inf by default")


def test_npy_truncated_file(probe, tmp_path):
    path = tmp_path / "t.npy"
    np.save(path, np.zeros((4, 4)))
    data = path.read_bytes()
    path.write_bytes(data[:-8])
    assert read_error(probe, path) == (
        f"kreg_probe: {path}: header declares 128 bytes of data but the file holds only 120")


# --------------------------------------------------------------------- IDX

IDX_TYPES = {">u1": 0x08, ">i1": 0x09, ">i2": 0x0B, ">i4": 0x0C, ">f4": 0x0D, ">f8": 0x0E}


def idx_bytes(arr):
    dt = arr.dtype.newbyteorder(">") if arr.dtype.itemsize > 1 else arr.dtype
    code = IDX_TYPES[">" + arr.dtype.str[1:]]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(dt).tobytes()


@pytest.mark.parametrize("dtype", ["|u1", "|i1", "<i2", "<i4", "<f4", "<f8"])
@pytest.mark.parametrize("shape", [(7,), (3, 4), (5, 2, 3), (0, 28, 28)], ids=str)
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz", "images-idx3-ubyte", "b-ubyte.gz"])
def test_idx(probe, tmp_path, dtype, shape, name):
    arr = sample(dtype, shape, seed=4)
    raw = idx_bytes(arr)
    path = tmp_path / name
    path.write_bytes(gzip.compress(raw) if name.endswith(".gz") else raw)
    check_same(probe, path, arr)


def test_idx_gzip_detected_by_magic(probe, tmp_path):
    arr = sample("|u1", (4, 3, 3), seed=5)
    path = tmp_path / "packed.idx"  # no .gz, yet gzipped
    path.write_bytes(gzip.compress(idx_bytes(arr)))
    check_same(probe, path, arr)


def test_idx_truncated(probe, tmp_path):
    arr = sample("<f4", (2, 3, 4), seed=6)
    path = tmp_path / "t.idx"
    path.write_bytes(idx_bytes(arr)[:-4])
    assert read_error(probe, path) == (
        f"kreg_probe: {path}: header declares 2 x 3 x 4 = 24 values (96 bytes) but the file "
        "holds only 92 bytes")


def test_idx_gzip_corrupt(probe, tmp_path):
    arr = sample("<f8", (50, 40), seed=7)
    data = bytearray(gzip.compress(idx_bytes(arr)))
    data[-8] ^= 0xFF  # CRC-32
    path = tmp_path / "c.idx.gz"
    path.write_bytes(bytes(data))
    assert read_error(probe, path) == (
        f"kreg_probe: {path}: corrupt gzip data (incorrect data check)")


@pytest.mark.parametrize("split", ["train", "t10k"])
def test_fashion_mnist_labels(probe, split):
    path = f"{FASHION}/{split}-labels-idx1-ubyte.gz"
    if not os.path.exists(path):
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    with gzip.open(path) as f:
        raw = f.read()
    want = np.frombuffer(raw, dtype=np.uint8, offset=8)
    rows, cols, data = read(probe, path)
    assert (rows, cols) == (want.size, 1)
    np.testing.assert_array_equal(data, want.astype(np.float64))
