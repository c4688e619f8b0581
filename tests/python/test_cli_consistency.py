"""The kreg tool behaves alike across commands: a missing input is a runtime
error (exit 1) in kreg's words, "-" reads standard input, an output kreg
cannot write in the format its name says is refused, accuracy refuses a
continuous target, the NaN refusal names the flag, counts agree with their
nouns, and a one-split table shows no spread."""
import json
import subprocess

import numpy as np
import pytest


def write_csv(path, X, y):
    header = ",".join([f"x{j}" for j in range(X.shape[1])] + ["y"])
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=header, comments="",
               fmt="%.17g")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    rng = np.random.default_rng(2)
    root = tmp_path_factory.mktemp("consistency")
    X = rng.normal(size=(80, 2))
    y = X[:, 0] + 0.1 * rng.normal(size=80)
    write_csv(root / "train.csv", X[:60], y[:60])
    write_csv(root / "test.csv", X[60:], y[60:])
    return root


MISSING = [
    ["predict", "--train", "{missing}", "--target", "y", "--query", "{train}"],
    ["predict", "--train", "{train}", "--target", "y", "--query", "{missing}"],
    ["tune", "--train", "{missing}", "--target", "y"],
    ["describe", "{missing}"],
    ["score", "--true", "{missing}", "--pred", "{train}"],
    ["cv", "--model", "nw", "--train", "{missing}", "--target", "y"],
]


@pytest.mark.parametrize("args", MISSING, ids=lambda a: a[0])
def test_missing_input_exits_1_in_kregs_words(kreg, files, tmp_path, args):
    missing = tmp_path / "no-such.csv"
    argv = [a.format(missing=missing, train=files / "train.csv") for a in args]
    proc = kreg(*argv, check=False)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("kreg: error: ")
    assert f"cannot open '{missing}': No such file or directory" in proc.stderr
    assert "--help" not in proc.stderr  # CLI11's usage hint was for usage errors
    # A directory is refused the same way.
    argv = [a.format(missing=tmp_path, train=files / "train.csv") for a in args]
    proc = kreg(*argv, check=False)
    assert proc.returncode == 1 and f"cannot read '{tmp_path}': it is a directory, not a file" in proc.stderr


def test_dash_reads_standard_input_and_writes_standard_output(kreg_bin, files):
    data = (files / "test.csv").read_text()
    proc = subprocess.run([kreg_bin, "describe", "-"], input=data, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert "20 rows x 3 columns" in proc.stdout
    proc = subprocess.run([kreg_bin, "predict", "--train", files / "train.csv", "--target", "y",
                           "--query", "-", "--bandwidth", "0.5", "--out", "-"], input=data,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "y" and len(lines) == 21


@pytest.mark.parametrize("name", ["p.json", "p.parquet", "p", "p.csv.bak"])
def test_output_extension_kreg_does_not_write_is_refused(kreg, files, tmp_path, name):
    out = tmp_path / name
    proc = kreg("predict", "--train", files / "train.csv", "--target", "y", "--query",
                files / "test.csv", "--out", out, check=False)
    assert proc.returncode == 2
    assert f"'{out}': kreg writes predictions as .csv, .tsv or .npy" in proc.stderr
    assert not out.exists()
    proc = kreg("tune", "--train", files / "train.csv", "--target", "y", "--test",
                files / "test.csv", "--cv", "holdout", "--bandwidths", "0.5,1",
                "--refit", out, check=False)
    assert proc.returncode == 2 and "kreg writes predictions as" in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("name", ["p.csv", "p.TSV", "p.npy"])
def test_outputs_kreg_writes(kreg, files, tmp_path, name):
    kreg("predict", "--train", files / "train.csv", "--target", "y", "--query",
         files / "test.csv", "--out", tmp_path / name)
    assert (tmp_path / name).stat().st_size > 0


def test_accuracy_refuses_a_continuous_target(kreg, files, tmp_path):
    pred = tmp_path / "pred.csv"
    kreg("predict", "--train", files / "train.csv", "--target", "y", "--query",
         files / "test.csv", "--out", pred)
    proc = kreg("score", "--true", files / "test.csv", "--target", "y", "--pred", pred,
                "--metric", "accuracy", check=False)
    assert proc.returncode == 2
    assert "--metric accuracy compares class labels" in proc.stderr
    assert "not a whole number: a continuous target. Score it with r2, mse or mae" in proc.stderr
    # Labels score as before.
    (tmp_path / "a.csv").write_text("y\n1\n2\n3\n3\n")
    (tmp_path / "b.csv").write_text("y\n1\n2\n3\n1\n")
    proc = kreg("score", "--true", tmp_path / "a.csv", "--pred", tmp_path / "b.csv",
                "--metric", "accuracy")
    assert "accuracy  0.75" in proc.stdout


def test_nan_message_names_the_flag(kreg, files, tmp_path):
    bad = tmp_path / "nan.csv"
    bad.write_text("x0,y\n1,2\nnan,3\n4,5\n")
    proc = kreg("describe", bad, check=False)
    assert proc.returncode == 1
    assert "kreg rejects NaN/Inf by default; --allow-nonfinite reads them" in proc.stderr
    assert "NonFinite::allow" not in proc.stderr
    assert "(1 NaN/Inf)" in kreg("describe", bad, "--allow-nonfinite").stdout
    proc = kreg("predict", "--train", bad, "--target", "y", "--query", files / "test.csv",
                check=False)
    assert proc.returncode == 1  # predict has the flag too (test_cli_nonfinite.py)
    assert "kreg rejects NaN/Inf by default; --allow-nonfinite reads them" in proc.stderr
    assert "NonFinite::allow" not in proc.stderr


def test_counts_agree_with_their_nouns(kreg, tmp_path):
    (tmp_path / "one.csv").write_text("y\n1\n")
    assert "1 row x 1 column" in kreg("describe", tmp_path / "one.csv").stdout
    (tmp_path / "two.csv").write_text("a,b\n1,2\n3,4\n")
    assert "2 rows x 2 columns" in kreg("describe", tmp_path / "two.csv").stdout


def test_one_split_table_has_no_std_column(kreg, files, tmp_path):
    proc = kreg("tune", "--train", files / "train.csv", "--target", "y", "--test",
                files / "test.csv", "--cv", "holdout", "--bandwidths", "0.5,1", "--quiet")
    header = proc.stdout.splitlines()[0].split()
    assert header == ["bandwidth", "R^2", "rank"]
    rows = [line.split() for line in proc.stdout.splitlines()[1:3]]
    assert sorted(len(r) for r in rows) == [3, 5]  # bandwidth, score, rank (+ "<- best")
    proc = kreg("tune", "--train", files / "train.csv", "--target", "y", "--cv", 3,
                "--bandwidths", "0.5,1", "--quiet")
    assert proc.stdout.splitlines()[0].split() == ["bandwidth", "mean", "R^2", "std", "rank"]


# ---- progress and --quiet on every long command ------------------------------------
def on_a_terminal(argv):
    """Runs argv with stderr on a pseudo-terminal (progress lines show only on
    one); returns (exit code, what reached the terminal)."""
    import os
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([str(a) for a in argv], stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(), b"".join(chunks).decode(errors="replace")


def write_idx(path, array):
    import struct
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    """A tiny MNIST-style directory: 60 training and 20 test images of 6 x 6."""
    rng = np.random.default_rng(3)
    d = tmp_path_factory.mktemp("images")
    for prefix, n in (("train", 60), ("t10k", 20)):
        labels = np.arange(n, dtype=np.uint8) % 3
        images = rng.integers(0, 60, size=(n, 6, 6), dtype=np.uint8)
        images[:, :, 0] += (labels * 60)[:, None].astype(np.uint8)
        write_idx(d / f"{prefix}-images-idx3-ubyte", images)
        write_idx(d / f"{prefix}-labels-idx1-ubyte", labels)
    return d


def long_commands(kreg_bin, files, image_dir, tmp_path):
    return {
        "cv": ([kreg_bin, "cv", "--model", "nw", "--train", files / "train.csv", "--target", "y",
                "--folds", 4], "folds  4/4  100%"),
        "augment": ([kreg_bin, "augment", "--images", image_dir / "train-images-idx3-ubyte",
                     "--copies", 2, "--out", tmp_path / "aug.idx"], "images  60/60  100%"),
        "infer": ([kreg_bin, "infer", "--data", image_dir, "--max-iter", 5, "--tol", 0,
                   "--mode", "batched"], "iterations  5/5  100%"),
    }


@pytest.mark.parametrize("command", ["cv", "augment", "infer"])
def test_progress_on_a_terminal_and_quiet(kreg_bin, files, image_dir, tmp_path, command):
    argv, final = long_commands(kreg_bin, files, image_dir, tmp_path)[command]
    code, shown = on_a_terminal(argv)
    assert code == 0, shown
    assert final in shown, shown  # the last progress line names its unit
    code, shown = on_a_terminal([*argv, "--quiet"])
    assert code == 0, shown
    assert final not in shown and "ETA" not in shown  # (a terminal shows \n as \r\n)
    # Not a terminal (a log, a pipe): no progress line, with or without --quiet.
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
    assert proc.returncode == 0 and final not in proc.stderr and "\r" not in proc.stderr


def test_infer_progress_covers_every_mode(kreg_bin, image_dir):
    """Past the fit, `kreg infer` shows a line per inference mode, counting the
    images it labelled over its --repeat passes; --quiet hides them all."""
    argv = [kreg_bin, "infer", "--data", image_dir, "--max-iter", 5, "--tol", 0, "--mode", "all",
            "--repeat", 2, "--device", "cpu"]
    finals = ["iterations  5/5  100%", "serial images  40/40  100%",
              "parallel images  40/40  100%", "batched images  40/40  100%",
              "network images  40/40  100%"]
    code, shown = on_a_terminal(argv)
    assert code == 0, shown
    for final in finals:
        assert final in shown, (final, shown)
    code, shown = on_a_terminal([*argv, "--quiet"])
    assert code == 0, shown
    assert "images  " not in shown and "ETA" not in shown
