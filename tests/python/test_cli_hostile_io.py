"""The kreg tool against hostile files and outputs: endless streams, devices,
FIFOs and symlinks as --out, a full standard output, headers that declare
billions of columns, odd text, and failures whose messages must be kreg's own.

Every run has a generous timeout: a hang is the failure these tests look for,
not a slow machine.
"""
import gzip
import json
import os
import resource
import stat
import struct
import subprocess
import threading

import numpy as np
import pytest

HANG_GUARD_S = 120


def run(kreg_bin, *args, **kwargs):
    if "stdout" not in kwargs:
        kwargs["capture_output"] = True
    return subprocess.run([kreg_bin, *map(str, args)], text=True, timeout=HANG_GUARD_S, **kwargs)


def npy_bytes(shape, data=b"", descr="<f8"):
    """An NPY version 1.0 file with any shape, whatever the data."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def idx_bytes(dims, data=b"", type_byte=0x08):
    return bytes([0, 0, type_byte, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


@pytest.fixture
def data(tmp_path):
    (tmp_path / "train.csv").write_text("x,y\n0,1\n1,3\n2,5\n3,7\n")
    (tmp_path / "query.csv").write_text("x\n0.5\n2.5\n")
    return tmp_path


def predict_args(d):
    return ["predict", "--train", d / "train.csv", "--target", "y", "--query", d / "query.csv",
            "--bandwidth", 1]


class FifoReader:
    """Reads a FIFO to its end on a thread, as a consumer of kreg's output would."""

    def __init__(self, path):
        os.mkfifo(path)
        self.path = path
        self.data = None
        # A daemon: should kreg replace the FIFO instead of writing to it, the
        # thread waits for a writer forever, and must not keep pytest alive.
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        with open(self.path, "rb") as f:
            self.data = f.read()

    def join(self):
        """What kreg wrote, or None when the FIFO is gone (replaced)."""
        if not stat.S_ISFIFO(os.lstat(self.path).st_mode):
            return None
        if self.thread.is_alive():  # kreg never opened it: unblock our open
            with open(self.path, "wb"):
                pass
        self.thread.join()
        return self.data


class FifoWriter:
    """Feeds `head`, then (endless) `tail` again and again, into a FIFO until the reader
    closes it."""

    def __init__(self, path, head, tail=b"", endless=False):
        os.mkfifo(path)
        self.path = path
        self.thread = threading.Thread(target=self._write, args=(head, tail, endless))
        self.thread.start()

    def _write(self, head, tail, endless):
        try:
            with open(self.path, "wb") as f:
                f.write(head)
                while endless:
                    f.write(tail)
        except (BrokenPipeError, ValueError):
            pass

    def join(self):
        if self.thread.is_alive():
            try:  # the reader never came: let the writer's open return and its write fail
                fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
                os.close(fd)
            except OSError:
                pass
        self.thread.join()


def device_copy(tmp_path, name, minor):
    """A copy of /dev/null (minor 3) or /dev/full (minor 7) in tmp_path, so that a
    regression that replaced the device would replace only the copy; an unprivileged
    run uses the real device, which it could not replace anyway."""
    path = tmp_path / name
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
        return path
    except PermissionError:
        return f"/dev/{name}"


# ----------------------------------------------------- standard output

@pytest.mark.parametrize("args", [
    ["info"],
    ["info", "--json"],
    ["describe", "{d}/train.csv"],
    ["describe", "--json", "{d}/train.csv"],
    ["predict", "--train", "{d}/train.csv", "--target", "y", "--query", "{d}/query.csv",
     "--bandwidth", "1"],
    ["tune", "--train", "{d}/train.csv", "--target", "y", "--cv", "2", "--bandwidths",
     "logspace:-1:1:3", "--quiet"],
    # Local regression: its predictions, and tune's table of selected bandwidths.
    ["predict", "--train", "{d}/train.csv", "--target", "y", "--query", "{d}/query.csv",
     "--reg", "ll", "--bandwidth", "1", "--gradients"],
    ["tune", "--train", "{d}/train.csv", "--target", "y", "--reg", "lc", "--quiet"],
    # More output than stdout's buffer holds: the write fails while printing.
    ["describe", "--json", "{d}/wide.csv"],
])
def test_full_stdout_is_an_error(kreg_bin, data, args):
    names = [f"column_with_a_long_name_{j}" for j in range(200)]
    (data / "wide.csv").write_text(",".join(names) + "\n" + ",".join("1" * 200) + "\n")
    with open("/dev/full", "w") as full:
        proc = run(kreg_bin, *[a.format(d=data) for a in args], stdout=full, stderr=subprocess.PIPE)
    assert proc.returncode == 1, proc.stderr
    assert "kreg: error: cannot write to standard output: No space left on device" in proc.stderr


def test_unknown_command_is_named(kreg_bin):
    proc = run(kreg_bin, "frobnicate")
    assert proc.returncode == 2
    assert proc.stderr == ("kreg: error: unknown command 'frobnicate'; the commands are info, "
                           "generate, score, describe, predict, tune, augment, infer, cv, tutorial, merge "
                           "(kreg --help)\n")


# ----------------------------------------------------- what --out names

def test_out_fifo_is_written_through(kreg_bin, data):
    reader = FifoReader(data / "pred.fifo")
    proc = run(kreg_bin, *predict_args(data), "--out", data / "pred.fifo")
    got = reader.join()
    assert proc.returncode == 0, proc.stderr
    assert got is not None, "kreg replaced the FIFO"
    assert got.decode().splitlines()[0] == "y" and len(got.decode().splitlines()) == 3
    assert stat.S_ISFIFO(os.lstat(data / "pred.fifo").st_mode)

    reader = FifoReader(data / "tune.fifo")
    proc = run(kreg_bin, "tune", "--train", data / "train.csv", "--target", "y", "--cv", 2,
               "--bandwidths", "logspace:-1:1:3", "--quiet", "--out", data / "tune.fifo",
               "--journal", data / "tune.journal")
    got = reader.join()
    assert proc.returncode == 0, proc.stderr
    assert got is not None, "kreg replaced the FIFO"
    assert json.loads(got)["n_train"] == 4
    assert stat.S_ISFIFO(os.lstat(data / "tune.fifo").st_mode)


def test_out_device_is_written_through(kreg_bin, data):
    null = device_copy(data, "null", 3)
    proc = run(kreg_bin, *predict_args(data), "--out", null)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(os.lstat(null).st_mode)

    full = device_copy(data, "full", 7)
    proc = run(kreg_bin, *predict_args(data), "--out", full)
    assert proc.returncode == 1
    # The write's own cause, not a stale errno ("Success").
    assert f"kreg: error: cannot write '{full}': No space left on device" in proc.stderr
    assert stat.S_ISCHR(os.lstat(full).st_mode)


def test_out_symlink_is_followed_and_kept(kreg_bin, data):
    (data / "results").mkdir()
    (data / "results" / "pred.csv").write_text("old\n")
    os.symlink("results/pred.csv", data / "link.csv")
    proc = run(kreg_bin, *predict_args(data), "--out", data / "link.csv")
    assert proc.returncode == 0, proc.stderr
    assert os.path.islink(data / "link.csv")
    assert (data / "results" / "pred.csv").read_text().splitlines()[0] == "y"
    assert sorted(os.listdir(data / "results")) == ["pred.csv"]  # no temporary left


@pytest.mark.parametrize("out", ["/dev/fd/1", "/proc/self/fd/1"])
def test_out_own_stdout_goes_to_stdout(kreg_bin, data, out):
    # /dev/stdout is the same link; these names are used here because a
    # regression that renamed over them fails inside /proc instead of
    # replacing a link in the machine's /dev.
    proc = run(kreg_bin, *predict_args(data), "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "y" and len(proc.stdout.splitlines()) == 3


def test_out_in_missing_directory_names_the_cause(kreg_bin, data):
    out = data / "no" / "such" / "pred.csv"
    proc = run(kreg_bin, *predict_args(data), "--out", out)
    assert proc.returncode == 1
    assert f"kreg: error: cannot write '{out}': No such file or directory" in proc.stderr


# ----------------------------------------------------- endless inputs

@pytest.mark.parametrize("name,message", [
    ("zeros.csv", "not a text file (a NUL byte at offset 0; is it binary data?)"),
    ("zeros.npy", "not an NPY file (bad magic; expected \\x93NUMPY)"),
    ("zeros.idx", "unknown IDX type byte 0x00"),
    ("zeros-ubyte.gz", "unknown IDX type byte 0x00"),
])
def test_endless_device_is_refused_at_its_header(kreg_bin, tmp_path, name, message):
    link = tmp_path / name
    os.symlink("/dev/zero", link)
    for args in (["describe", link],
                 ["predict", "--train", link, "--target", "0", "--query", link, "--bandwidth", 1]):
        proc = run(kreg_bin, *args)
        assert proc.returncode == 1, proc.stderr
        assert f"kreg: error: {link}: {message}" in proc.stderr


def test_urandom_is_not_a_text_file(kreg_bin):
    proc = run(kreg_bin, "describe", "/dev/urandom")
    assert proc.returncode == 1
    assert proc.stderr.startswith("kreg: error: /dev/urandom: not a text file (")


@pytest.mark.parametrize("name,head,tail,message", [
    ("a.npy", npy_bytes("(2,)", struct.pack("<2d", 1, 2)), b"\0" * 4096,
     "header declares 16 bytes of data but more bytes follow them; the file is corrupt or endless"),
    ("a.idx", idx_bytes([2], b"\1\2"), b"\7" * 4096,
     "header declares 2 = 2 values (2 bytes) but more bytes follow the data; the file is corrupt "
     "or endless"),
    ("a.csv", b"x,y\n1,2\n", b"\0" * 4096,
     "not a text file (a NUL byte at offset 8; is it binary data?)"),
])
def test_endless_fifo_stops_after_the_declared_data(kreg_bin, tmp_path, name, head, tail,
                                                    message):
    writer = FifoWriter(tmp_path / name, head, tail, endless=True)
    proc = run(kreg_bin, "describe", tmp_path / name)
    writer.join()
    assert proc.returncode == 1, proc.stderr
    assert f"kreg: error: {tmp_path / name}: {message}" in proc.stderr


def test_finite_fifo_reads_like_a_file(kreg_bin, tmp_path):
    writer = FifoWriter(tmp_path / "a.npy", npy_bytes("(2, 1)", struct.pack("<2d", 1, 3)))
    proc = run(kreg_bin, "describe", tmp_path / "a.npy")
    writer.join()
    assert proc.returncode == 0, proc.stderr
    assert "2 rows x 1 column\n" in proc.stdout


# ----------------------------------------------------- headers that allocate

LIMIT = ("more than kreg's limit of 16777216 (kreg keeps a name and statistics for every column, "
         "which alone would take gigabytes); the file is corrupt or not a data set kreg can use")


@pytest.mark.parametrize("name,content,message", [
    ("wide.npy", npy_bytes("(0, 4000000000)"),
     "header's 'shape' (0, 4000000000) makes 4000000000 columns per row, " + LIMIT),
    ("wide.idx", idx_bytes([0, 65536, 65536]),
     "header's dimensions 0 x 65536 x 65536 make 4294967296 columns per row, " + LIMIT),
    ("wide-ubyte.gz", gzip.compress(idx_bytes([0, 65536, 65536])),
     "header's dimensions 0 x 65536 x 65536 make 4294967296 columns per row, " + LIMIT),
])
def test_absurd_column_count_is_refused(kreg_bin, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    for args in (["describe", path],
                 ["predict", "--train", path, "--target", "0", "--query", path, "--bandwidth", 1]):
        proc = run(kreg_bin, *args)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr == f"kreg: error: {path}: {message}\n"


def test_out_of_memory_is_kregs_own_message(kreg_bin, tmp_path):
    # 200 MB of pixels (a few hundred KB gzipped) become 1.6 GB of doubles:
    # more than the 1 GB of address space this run gets.
    path = tmp_path / "big-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes([200000, 1000]) + bytes(200_000_000), 1))

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")  # no BLAS thread buffers to map
    proc = run(kreg_bin, "describe", path, preexec_fn=limit_memory, env=env)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("kreg: error: out of memory while running `kreg describe`; "
                                  "the input may declare more data than it holds"), proc.stderr
    assert "bad_alloc" not in proc.stderr


# ----------------------------------------------------- odd text

def test_cr_only_line_ends_are_read(kreg, tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"a,b\r1,2\r3,4\r")
    stats = json.loads(kreg("describe", "--json", path).stdout)
    assert stats["rows"] == 2 and [c["mean"] for c in stats["columns"]] == [2, 3]


def test_control_bytes_in_a_cell_are_escaped(kreg_bin, tmp_path):
    path = tmp_path / "ctl.csv"
    path.write_bytes(b"a,b\n1,x\x01y\x1b[2J\n")
    proc = run(kreg_bin, "describe", path)
    assert proc.returncode == 1
    assert proc.stderr == (f"kreg: error: {path}:2:3: expected a number, found "
                           "'x\\x01y\\x1b[2J' (column 'b')\n")


def test_nul_in_a_csv_is_not_text(kreg_bin, tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"a,b\n1,x\0y\n")
    proc = run(kreg_bin, "describe", path)
    assert proc.returncode == 1
    assert f"kreg: error: {path}: not a text file (a NUL byte at offset 7;" in proc.stderr


def test_describe_json_with_non_utf8_names(kreg_bin, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("temp\xe9rature,y\n1,2\n".encode("latin-1"))
    proc = run(kreg_bin, "describe", "--json", path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["columns"][0]["name"] == "temp\ufffdrature"
    assert "json.exception" not in proc.stderr


def test_results_are_written_for_paths_that_are_not_utf8(kreg_bin, tmp_path):
    """A training file whose name is not UTF-8 (Linux allows any bytes): the
    JSON results name it with U+FFFD instead of losing the finished run."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 2))
    table = np.column_stack([X, X[:, 0] + 0.1 * rng.normal(size=40)])
    train = os.path.join(os.fsencode(tmp_path), b"\xff-train.csv")
    with open(train, "w") as f:
        f.write("x0,x1,y\n")
        np.savetxt(f, table, delimiter=",", fmt="%.17g")

    def run(*args):  # bytes out: kreg's messages quote the name's raw bytes
        proc = subprocess.run([kreg_bin, *args], capture_output=True, timeout=HANG_GUARD_S)
        assert proc.returncode == 0, proc.stderr
    tune = tmp_path / "tune.json"
    run("tune", "--train", train, "--target", "y", "--bandwidths", "0.5,1", "--cv", "4", "--out",
        tune, "--quiet")
    assert json.loads(tune.read_text(encoding="utf-8"))["train"].endswith("\ufffd-train.csv")
    cv = tmp_path / "cv.json"
    run("cv", "--model", "nw", "--train", train, "--target", "y", "--folds", "4", "--out", cv)
    assert len(json.loads(cv.read_text(encoding="utf-8"))["folds"]) == 4
