"""SIGINT and SIGTERM in every phase of the commands, with real signals.

Each case starts kreg as a subprocess, waits until it is in the phase under
test, sends the signal, and checks what the README promises: exit code 130,
"interrupted" on stderr, and no output file changed or left half-written (an
existing output keeps its old bytes, no temporary file stays behind).

Phases are reached without guessing at timing where possible:
  - reading: the input is a FIFO. Opening its write end succeeds only once
    kreg has opened it to read, so kreg is then inside its read phase, and it
    stays blocked there (a read that never returns to poll anything).
  - kreg installs its handlers first thing in main; the tests wait for them in
    /proc/PID/status (SigCgt) before signalling, so the signal never meets the
    default action.
  - computing and writing: inputs large enough that the phase lasts far longer
    than it takes the test to signal (the uninterrupted runs take tens of
    seconds); the assertions hold in whichever phase the signal lands.
The time limits (10 s) only keep a broken build from hanging the suite.
"""
import errno
import os
import signal
import subprocess
import time

import numpy as np
import pytest

SIGNALS = [pytest.param(signal.SIGINT, id="SIGINT"), pytest.param(signal.SIGTERM, id="SIGTERM")]
LIMIT = 10  # seconds: a hang guard, not a measurement


def start(kreg_bin, *args, **kw):
    return subprocess.Popen([kreg_bin, *map(str, args)], stdout=kw.pop("stdout", subprocess.PIPE),
                            stderr=subprocess.PIPE, text=True, **kw)


def handlers_installed(proc):
    """True once kreg catches SIGINT and SIGTERM (main installs them first)."""
    try:
        with open(f"/proc/{proc.pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    mask = int(line.split()[1], 16)
                    return all(mask & (1 << (s - 1)) for s in (signal.SIGINT, signal.SIGTERM))
    except FileNotFoundError:
        pass
    return False


def wait_for_handlers(proc):
    deadline = time.monotonic() + 30
    while not handlers_installed(proc):
        if proc.poll() is not None:
            pytest.fail(f"kreg ended before it could be signalled: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("kreg installed no SIGINT/SIGTERM handler within 30 s")
        time.sleep(0.01)


def open_fifo_writer(proc, fifo):
    """The write end of `fifo`, once kreg has opened the read end."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO:  # ENXIO: no reader yet
                raise
        if proc.poll() is not None:
            pytest.fail(f"kreg ended before it opened {fifo}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"kreg did not open {fifo} within 30 s")
        time.sleep(0.01)


def interrupt(proc, sig, drain_stdout=False):
    """Sends `sig`; returns (returncode, stderr) once kreg has ended."""
    proc.send_signal(sig)
    try:
        _, stderr = proc.communicate(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        pytest.fail(f"kreg was still running {LIMIT} s after {sig.name}: {stderr}")
    return proc.returncode, stderr


def assert_interrupted(returncode, stderr, sig):
    assert returncode == 130, f"{sig.name}: exit code {returncode}, stderr: {stderr}"
    assert "kreg: interrupted" in stderr


def no_temporaries(directory):
    return [p.name for p in directory.iterdir() if ".tmp." in p.name]


def write_npy_pair(tmp_path, n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", X.sum(axis=1))
    return tmp_path / "X.npy", tmp_path / "y.npy"


# --- reading: the input is a FIFO that never ends ---------------------------

def fifo_case(kind, tmp_path):
    """kreg arguments whose first input is the FIFO `fifo`, and the FIFO."""
    train = tmp_path / "train.csv"
    train.write_text("x0,y\n0,0\n1,1\n")
    if kind == "predict":
        fifo = tmp_path / "query.csv"
        return ["predict", "--train", train, "--target", "y", "--query", fifo, "--out",
                tmp_path / "out.csv"], fifo
    if kind == "describe":
        fifo = tmp_path / "data.csv"
        return ["describe", fifo], fifo
    if kind == "score":
        fifo = tmp_path / "true.csv"
        return ["score", "--true", fifo, "--pred", train, "--target", "y"], fifo
    if kind == "augment":
        fifo = tmp_path / "images.idx"
        return ["augment", "--images", fifo, "--out", tmp_path / "out.idx"], fifo
    if kind == "infer":
        # The directory's four IDX files, the first of them a FIFO.
        fifo = tmp_path / "train-images-idx3-ubyte"
        for name in ["train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                     "t10k-labels-idx1-ubyte"]:
            (tmp_path / name).write_bytes(b"")
        return ["infer", "--data", tmp_path], fifo
    if kind == "cv":
        fifo = tmp_path / "cv-train.csv"
        return ["cv", "--model", "nw", "--train", fifo, "--target", "y", "--bandwidth", "0.5",
                "--out", tmp_path / "out.csv"], fifo
    raise AssertionError(kind)


@pytest.mark.parametrize("sig", SIGNALS)
@pytest.mark.parametrize("kind", ["predict", "describe", "score", "augment", "infer", "cv"])
def test_a_read_blocked_on_a_fifo_stops(kreg_bin, tmp_path, kind, sig):
    args, fifo = fifo_case(kind, tmp_path)
    os.mkfifo(fifo)
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    proc = start(kreg_bin, *args)
    fd = open_fifo_writer(proc, fifo)  # kreg is reading now
    try:
        os.write(fd, b"x0,y\n0." if kind != "augment" and kind != "infer" else b"\0\0")
        returncode, stderr = interrupt(proc, sig)
    finally:
        os.close(fd)
    assert_interrupted(returncode, stderr, sig)
    assert out.read_text() == "old\n"
    assert no_temporaries(tmp_path) == []


# --- computing: predict on a problem that takes minutes ---------------------

@pytest.mark.parametrize("sig", SIGNALS)
def test_predict_stops_while_predicting(kreg_bin, tmp_path, sig):
    # 300000 x 240000 pairs on one thread: minutes uninterrupted.
    X, y = write_npy_pair(tmp_path, 300_000, 8, 0)
    out = tmp_path / "pred.npy"
    out.write_bytes(b"old")
    proc = start(kreg_bin, "predict", "--train", X, "--train-y", y, "--query", X, "--jobs", 1,
                 "--out", out)
    wait_for_handlers(proc)
    time.sleep(1.0)  # reading two 19 MB NPY files takes a fraction of that
    assert proc.poll() is None, proc.stderr.read()
    returncode, stderr = interrupt(proc, sig)
    assert_interrupted(returncode, stderr, sig)
    assert out.read_bytes() == b"old"
    assert no_temporaries(tmp_path) == []


@pytest.mark.parametrize("sig", SIGNALS)
def test_a_signal_after_the_last_poll_is_not_swallowed(kreg_bin, tmp_path, sig):
    # The predictions (about 200 KB of CSV) go to a pipe. Once their first
    # line arrives, kreg is printing, past its last poll, and blocked on the
    # full pipe until the test reads on: the signal lands there, the print
    # then completes, and the run must still end with 130, not 0.
    X, y = write_npy_pair(tmp_path, 10_000, 2, 1)
    proc = start(kreg_bin, "predict", "--train", X, "--train-y", y, "--query", X)
    assert proc.stdout.readline() == "y\n"
    returncode, stderr = interrupt(proc, sig)
    assert_interrupted(returncode, stderr, sig)


# --- writing: augment compressing a large .gz -------------------------------

def augment_args(images, out):
    # Cheap to augment (shift only), slow to compress (4 grey levels: deflate
    # finds many short matches): the write phase dominates.
    return ["augment", "--images", images, "--out", out, "--copies", 1, "--ops", "shift",
            "--jobs", 2]


def write_idx_images(path, n, h, w, seed):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 4, size=(n, h, w), dtype=np.uint8) * 85
    header = bytes([0, 0, 0x08, 3]) + b"".join(int(v).to_bytes(4, "big") for v in (n, h, w))
    path.write_bytes(header + pixels.tobytes())


@pytest.mark.parametrize("sig", SIGNALS)
def test_augment_stops_while_compressing_and_keeps_the_old_file(kreg, kreg_bin, tmp_path, sig):
    images = tmp_path / "images.idx"
    write_idx_images(images, 1000, 256, 256, 2)  # 66 MB: seconds of deflate
    # The same run uninterrupted, without and with the compression: the
    # signal goes in the middle of the compression, far from either end.
    started = time.monotonic()
    kreg(*augment_args(images, tmp_path / "plain.idx"))
    before_write = time.monotonic() - started
    started = time.monotonic()
    kreg(*augment_args(images, tmp_path / "plain.idx.gz"))
    whole = time.monotonic() - started
    out = tmp_path / "out.idx.gz"
    out.write_bytes(b"old")
    proc = start(kreg_bin, *augment_args(images, out))
    wait_for_handlers(proc)
    time.sleep((before_write + whole) / 2)  # now compressing
    assert proc.poll() is None, "the compression ended before the signal: " + proc.stderr.read()
    returncode, stderr = interrupt(proc, sig)
    assert_interrupted(returncode, stderr, sig)
    assert out.read_bytes() == b"old"
    assert no_temporaries(tmp_path) == []


# --- generate: computing, formatting and writing several files --------------

@pytest.mark.parametrize("sig", SIGNALS)
def test_generate_stops_and_leaves_only_whole_files(kreg_bin, tmp_path, sig):
    out_dir = tmp_path / "out"
    proc = start(kreg_bin, "generate", "--n", 10_000_000, "--d", 1, "--out-dir", out_dir)
    wait_for_handlers(proc)
    time.sleep(0.1)
    assert proc.poll() is None, proc.stderr.read()
    returncode, stderr = interrupt(proc, sig)
    assert_interrupted(returncode, stderr, sig)
    assert no_temporaries(out_dir) == []
    # Whatever was written before the signal is whole.
    for name, rows in [("train.csv", 8_000_000), ("test.csv", 2_000_000)]:
        if (out_dir / name).exists():
            lines = (out_dir / name).read_text().splitlines()
            assert lines[0] == "x0,y" and len(lines) == rows + 1


# --- a signal before a command opens its own scope --------------------------

@pytest.mark.parametrize("sig", SIGNALS)
def test_a_signal_while_tune_reads_stops_its_search(kreg_bin, tmp_path, sig):
    # The signal arrives while tune waits for its input. Reading has nothing
    # to save, so kreg may end at once (then the write below finds the pipe
    # closed); if the input still gets in first, the search that would take
    # minutes must stop at once: the earlier signal applies to the scope
    # opened inside. Either way: interrupted, nothing written.
    fifo = tmp_path / "train.csv"
    os.mkfifo(fifo)
    out = tmp_path / "r.json"
    proc = start(kreg_bin, "tune", "--train", fifo, "--target", "y", "--cv", 5, "--bandwidths",
                 "logspace:-1:3:200000", "--out", out, "--quiet")
    fd = open_fifo_writer(proc, fifo)
    rng = np.random.default_rng(3)
    rows = "".join(f"{a:.6f},{b:.6f},{a + b:.6f}\n" for a, b in rng.normal(size=(300, 2)))
    try:
        wait_for_handlers(proc)
        proc.send_signal(sig)
        os.set_blocking(fd, True)
        try:
            os.write(fd, ("x0,x1,y\n" + rows).encode())
        except BrokenPipeError:
            pass  # kreg ended while reading, as it may
    finally:
        os.close(fd)
    try:
        _, stderr = proc.communicate(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        pytest.fail(f"tune was still searching {LIMIT} s after {sig.name}: {stderr}")
    assert_interrupted(proc.returncode, stderr, sig)
    assert not out.exists()
    assert no_temporaries(tmp_path) == []
