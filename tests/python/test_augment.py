"""`kreg augment` (the tutorial's offline data augmentation, section 4.4) on
Fashion-MNIST: output shapes, byte-identical results for any --jobs, repeated
labels, a PNG preview that decodes, and the errors of bad input."""
import gzip
import os
import struct
import zlib

import numpy as np
import pytest

DATA = "/usr/share/datasets/fashion-mnist"
IMAGES = os.path.join(DATA, "t10k-images-idx3-ubyte.gz")
LABELS = os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")

needs_data = pytest.mark.skipif(not (os.path.exists(IMAGES) and os.path.exists(LABELS)),
                                reason=f"Fashion-MNIST t10k not found in {DATA}")


def read_idx(path):
    """A ubyte IDX file (gzip or not) as a numpy array of its dims."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    assert raw[0] == 0 and raw[1] == 0 and raw[2] == 0x08, "ubyte IDX magic"
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    assert data.size == int(np.prod(dims))
    return data.reshape(dims)


def write_idx(path, array):
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with open(path, "wb") as f:
        f.write(header + array.tobytes())


def decode_png_gray(path):
    """A tiny decoder for kreg's PNGs: 8-bit grayscale, checks every CRC."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body), f"CRC of {kind}"
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, color, comp, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color, comp, filt, interlace) == (8, 0, 0, 0, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, width + 1)
    assert (rows[:, 0] == 0).all(), "kreg writes filter type 0 only"
    return rows[:, 1:]


@needs_data
def test_augment_fashion_mnist(kreg, tmp_path):
    def run(jobs, suffix):
        out, labels_out = tmp_path / f"aug{suffix}.idx.gz", tmp_path / f"lab{suffix}.idx"
        proc = kreg("augment", "--images", IMAGES, "--labels", LABELS, "--limit", 500,
                    "--copies", 3, "--ops", "shift,rotate,scale,noise", "--seed", 1,
                    "--jobs", jobs, "--out", out, "--labels-out", labels_out,
                    "--preview", tmp_path / f"grid{suffix}.png")
        assert "images/s" in proc.stderr
        return out, labels_out

    out1, lab1 = run(1, "1")
    out2, lab2 = run(2, "2")
    aug = read_idx(out1)
    assert aug.shape == (1500, 28, 28)
    np.testing.assert_array_equal(aug, read_idx(out2))  # byte-identical for any --jobs
    originals = read_idx(IMAGES)[:500]
    assert not (aug[0::3] == originals).all()
    # Augmented copies stay close to their original on average.
    diff = np.abs(aug.astype(int) - np.repeat(originals, 3, axis=0).astype(int)).mean()
    assert 0 < diff < 60

    labels = read_idx(LABELS)[:500]
    np.testing.assert_array_equal(read_idx(lab1), np.repeat(labels, 3))
    np.testing.assert_array_equal(read_idx(lab2), read_idx(lab1))

    sheet = decode_png_gray(tmp_path / "grid1.png")
    assert sheet.shape == (8 * 28 + 7, 4 * 28 + 3)
    np.testing.assert_array_equal(sheet[:28, :28], originals[0])
    np.testing.assert_array_equal(sheet[29:57, 29:57], aug[3 * 1 + 0])
    assert (sheet[28, :] == 255).all()


@needs_data
def test_augment_prefix_and_noise_only(kreg, tmp_path):
    kreg("augment", "--images", IMAGES, "--limit", 40, "--copies", 2, "--seed", 3,
         "--out", tmp_path / "a.idx")
    kreg("augment", "--images", IMAGES, "--limit", 10, "--copies", 2, "--seed", 3,
         "--out", tmp_path / "b.idx")
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx")[:20], read_idx(tmp_path / "b.idx"))
    # noise with std 0 is the identity
    kreg("augment", "--images", IMAGES, "--limit", 10, "--copies", 2, "--ops", "noise",
         "--noise-std", 0, "--out", tmp_path / "c.idx")
    np.testing.assert_array_equal(read_idx(tmp_path / "c.idx"),
                                  np.repeat(read_idx(IMAGES)[:10], 2, axis=0))


def test_augment_bad_input(kreg, tmp_path):
    images = np.arange(5 * 4 * 4, dtype=np.uint8).reshape(5, 4, 4)
    write_idx(tmp_path / "img.idx", images)
    write_idx(tmp_path / "lab.idx", np.arange(4, dtype=np.uint8))
    out = tmp_path / "out.idx"

    def fails(*args, code):
        proc = kreg("augment", "--images", tmp_path / "img.idx", "--out", out, *args, check=False)
        assert proc.returncode == code, proc.stderr
        assert not out.exists(), "no partial output"
        assert not [p for p in os.listdir(tmp_path) if ".tmp" in p], "no temporary left"
        return proc.stderr

    err = fails("--labels", tmp_path / "lab.idx", "--labels-out", tmp_path / "l.idx", code=2)
    assert f"--labels '{tmp_path / 'lab.idx'}' has 4 labels" in err
    assert f"--images '{tmp_path / 'img.idx'}' has 5 images" in err
    assert not (tmp_path / "l.idx").exists()
    err = fails("--ops", "shift,flip", code=2)
    assert "unknown augmentation op 'flip'; valid ops: shift, rotate, scale, noise" in err
    assert "--copies must be >= 0" in fails("--copies", -1, code=2)
    assert "--jobs 0 is not valid" in fails("--jobs", 0, code=2)
    assert "--labels-out needs --labels" in fails("--labels-out", tmp_path / "l.idx", code=2)

    missing = kreg("augment", "--images", tmp_path / "nope.idx", "--out", out, check=False)
    assert missing.returncode == 1 and "nope.idx" in missing.stderr
    write_idx(tmp_path / "flat.idx", np.zeros((3, 4), dtype=np.uint8).reshape(12))
    flat = kreg("augment", "--images", tmp_path / "flat.idx", "--out", out, check=False)
    assert flat.returncode == 1 and "n x height x width" in flat.stderr
    assert not out.exists()

    # and the small file works
    kreg("augment", "--images", tmp_path / "img.idx", "--copies", 2, "--out", out,
         "--preview", tmp_path / "g.png")
    assert read_idx(out).shape == (10, 4, 4)
    assert decode_png_gray(tmp_path / "g.png").shape == (5 * 4 + 4, 3 * 4 + 2)


def test_augment_help(kreg):
    proc = kreg("augment", "--help")
    for option in ("--images", "--labels", "--copies", "--ops", "--seed", "--jobs", "--out",
                   "--labels-out", "--preview", "--limit"):
        assert option in proc.stdout
