"""`kreg tune` under hostile use: outputs that name the same file (or an
input), journals that were edited or damaged, test files whose columns do not
match, bandwidths beyond a double's range, and SIGINT or SIGTERM in every
phase of a run (reading, grid, optimiser, refit, writing the results), each of
which must stop within seconds with exit status 130 and lose no finished
work."""
import json
import os
import signal
import struct
import subprocess
import threading
import time

import numpy as np
import pytest

STOP_BOUND_S = 10  # generous: a loaded two-core machine still stops far sooner


def write_csv(path, X, y, names=None):
    names = names or [f"x{j}" for j in range(X.shape[1])] + ["y"]
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=",".join(names),
               comments="", fmt="%.17g")


def make_data(n, d, seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + rng.normal(size=n)
    return X, y


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    X, y = make_data(300, 3, 1)
    write_csv(root / "train.csv", X[:200], y[:200])
    write_csv(root / "test.csv", X[200:], y[200:])
    return root


# ---- outputs that collide -------------------------------------------------------
def tune_args(root, *extra):
    cv = [] if "--cv" in extra else ["--cv", "3"]
    return ["tune", "--train", root / "train.csv", "--target", "y", "--bandwidths", "0.5,1,2",
            *cv, "--quiet", *extra]


def refused(kreg, args, message, untouched=()):
    before = {p: p.read_bytes() for p in untouched}
    proc = kreg(*args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr, proc.stderr
    assert "kreg tune:" not in proc.stderr  # refused before any work
    for p, content in before.items():
        assert p.read_bytes() == content, f"{p} was changed"
    return proc


def test_outputs_naming_the_same_file_are_refused_before_any_work(kreg, small, tmp_path):
    out = tmp_path / "r.json"
    cases = [
        (["--out", out, "--journal", out],
         f"--out and --journal both name '{out}'; give each output its own file"),
        (["--out", out, "--csv", f"{out}.journal"],
         f"--csv and the journal (--out's name + .journal) both name '{out}.journal'"),
        (["--journal", tmp_path / "j.csv", "--refit", tmp_path / "j.csv", "--test", small / "test.csv"],
         f"--refit and --journal both name '{tmp_path / 'j.csv'}'"),
        (["--out", out, "--plot", f"{tmp_path}/./r.json"],
         f"--out '{out}' and --plot '{tmp_path}/./r.json' are the same file"),
        (["--out", out, "--csv", f"{tmp_path}/sub/../r.json"],
         "are the same file; give each output its own file, or one would overwrite the other's "
         "results"),
    ]
    (tmp_path / "sub").mkdir()
    for args, message in cases:
        refused(kreg, tune_args(small, *args), message)
        assert not out.exists() and not (tmp_path / "j.csv").exists()
        assert not (tmp_path / "r.json.journal").exists()


def test_links_to_one_file_are_the_same_file(kreg, small, tmp_path):
    out = tmp_path / "r.json"
    out.write_text("{}")  # an existing result: a hard link shares its inode
    os.link(out, tmp_path / "hard.json")
    os.symlink(out, tmp_path / "soft.json")
    os.symlink(tmp_path / "not_yet.csv", tmp_path / "dangling.csv")
    refused(kreg, tune_args(small, "--out", out, "--csv", tmp_path / "hard.json"),
            f"--out '{out}' and --csv '{tmp_path / 'hard.json'}' are the same file",
            untouched=[out])
    refused(kreg, tune_args(small, "--out", out, "--plot", tmp_path / "soft.json"),
            f"--out '{out}' and --plot '{tmp_path / 'soft.json'}' are the same file",
            untouched=[out])
    # A dangling link leads to where a write through it would create a file.
    refused(kreg, tune_args(small, "--csv", tmp_path / "dangling.csv", "--plot",
                            tmp_path / "not_yet.csv"),
            "are the same file")


def test_an_output_over_an_input_is_refused(kreg, small, tmp_path):
    train = small / "train.csv"
    refused(kreg, tune_args(small, "--out", train),
            f"--out '{train}' is the same file as the input --train '{train}'; writing it would "
            "destroy the input, so give --out another path", untouched=[train])
    test = tmp_path / "test.csv"
    test.write_bytes((small / "test.csv").read_bytes())
    os.symlink(test, tmp_path / "test_link.csv")
    refused(kreg, tune_args(small, "--test", tmp_path / "test_link.csv", "--refit", test),
            f"--refit '{test}' is the same file as the input --test", untouched=[test])
    refused(kreg, ["predict", "--train", train, "--target", "y", "--query", test, "--out", test],
            f"--out '{test}' is the same file as the input --query", untouched=[test])
    refused(kreg, ["cv", "--model", "nw", "--train", train, "--target", "y", "--out", train],
            "is the same file as the input --train", untouched=[train])


def test_augment_outputs_are_checked(kreg, tmp_path):
    images = tmp_path / "images-idx3-ubyte"
    images.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 4, 4) + bytes(32))
    refused(kreg, ["augment", "--images", images, "--out", tmp_path / "a.idx", "--labels-out",
                   tmp_path / "a.idx"],
            f"--out and --labels-out both name '{tmp_path / 'a.idx'}'")
    refused(kreg, ["augment", "--images", images, "--out", images],
            f"--out '{images}' is the same file as the input --images", untouched=[images])


def test_device_files_may_take_several_outputs(kreg, small):
    # Writing twice to /dev/null loses nothing: only regular files are compared.
    proc = kreg(*tune_args(small, "--out", "/dev/null", "--csv", "/dev/null", "--journal",
                           "/dev/null/../none"), check=False)
    assert "same file" not in proc.stderr


# ---- journals that were edited or damaged -------------------------------------
def fnv1a64(text):
    h = 0xcbf29ce484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def line(text):
    """A journal line as kreg writes it: the text, a tab, its checksum."""
    return f"{text}\t{fnv1a64(text):016x}\n"


def split_lines(journal):
    """The journal's complete lines without their checksums; a last line still
    being written (no newline yet) is left out, as kreg's reader does."""
    complete = journal.read_text().split("\n")[:-1]
    return [raw.rsplit("\t", 1)[0] for raw in complete if raw]


@pytest.fixture(scope="module")
def kept_journal(kreg_bin, small, tmp_path_factory):
    """A finished grid's journal, kept because the run failed at its refit, and
    the results of the same run uninterrupted."""
    root = tmp_path_factory.mktemp("journal")
    args = [kreg_bin, "tune", "--train", small / "train.csv", "--target", "y", "--cv", "4",
            "--bandwidths", "logspace:-1:1:7", "--out", root / "r.json", "--quiet"]
    full = subprocess.run(list(map(str, args + ["--journal", root / "full.journal"])),
                          capture_output=True, text=True)
    assert full.returncode == 0, full.stderr
    expected = json.loads((root / "r.json").read_text())
    (root / "r.json").unlink()
    failed = subprocess.run(
        list(map(str, args + ["--test", small / "test.csv", "--refit", root / "no" / "p.csv"])),
        capture_output=True, text=True)
    assert failed.returncode == 1, failed.stderr
    journal = root / "r.json.journal"
    assert journal.exists()
    return args, journal, expected


def resume_with(kreg_bin, kept_journal, tmp_path, content):
    args, _, _ = kept_journal
    journal = tmp_path / "edited.journal"
    journal.write_text(content)
    out = tmp_path / "out.json"
    args = [a if a != args[args.index("--out") + 1] else out for a in args]
    return subprocess.run(list(map(str, args + ["--journal", journal, "--resume"])),
                          capture_output=True, text=True), journal, out


def test_untouched_journal_resumes_to_the_uninterrupted_result(kreg_bin, kept_journal, tmp_path):
    _, journal, expected = kept_journal
    proc, _, out = resume_with(kreg_bin, kept_journal, tmp_path, journal.read_text())
    assert proc.returncode == 0, proc.stderr
    got = json.loads(out.read_text())
    assert got["cv_results"] == expected["cv_results"]


def test_a_changed_number_is_refused_with_path_and_line(kreg_bin, kept_journal, tmp_path):
    _, journal, _ = kept_journal
    raw = journal.read_text().split("\n")
    record = raw[2]
    at = record.index('"sse":[') + len('"sse":[')
    digit = next(i for i in range(at, len(record)) if record[i] in "123456789")
    raw[2] = record[:digit] + str(int(record[digit]) % 9 + 1) + record[digit + 1:]
    proc, edited, out = resume_with(kreg_bin, kept_journal, tmp_path, "\n".join(raw))
    assert proc.returncode == 1, proc.stderr
    assert (f"journal '{edited}' line 3: the checksum does not match the record, so the line was "
            "changed or damaged after kreg wrote it") in proc.stderr
    assert not out.exists()


def structural_cases(header, records):
    task = json.loads(records[0])
    no_sse = {k: v for k, v in task.items() if k != "sse"}
    return [
        # (journal lines, message, line number)
        ([header, json.dumps(no_sse)], "the task record has no 'sse'", 2),
        ([header, json.dumps({**task, "sse": "many"})], "'sse' of the task record is not a list",
         2),
        ([header, json.dumps({**task, "split": -1})],
         "'split' of the task record holds -1, not a count", 2),
        ([header, json.dumps({**task, "sae": [None] * len(task["sae"])})],
         "'sae' of the task record holds null, not a number", 2),
        ([header, records[0], json.dumps({"type": "snapshot"})],
         "a record of type 'snapshot', which kreg tune does not write", 3),
        ([header, json.dumps([1, 2])], "the record is not a JSON object", 2),
        ([header, records[0], "{not json"], "the record is not JSON, though its checksum matches",
         3),
        ([header, json.dumps({**task, "index": 10 ** 6})], "task 1000000 does not match this "
         "run's plan", 2),
        ([header, json.dumps({**task, "sse": task["sse"][:-1]})],
         "sums for the", 2),
    ]


def test_structural_damage_gets_kregs_own_message(kreg_bin, kept_journal, tmp_path):
    _, journal, _ = kept_journal
    header, *records = split_lines(journal)
    for lines, message, number in structural_cases(header, records):
        proc, edited, _ = resume_with(kreg_bin, kept_journal, tmp_path,
                                      "".join(line(t) for t in lines))
        assert proc.returncode == 1, (message, proc.stderr)
        assert f"journal '{edited}' line {number}: " in proc.stderr, (message, proc.stderr)
        assert message in proc.stderr, (message, proc.stderr)
        assert "json.exception" not in proc.stderr and "parse error" not in proc.stderr


def test_headers_of_other_programs_and_older_kregs(kreg_bin, kept_journal, tmp_path):
    _, journal, _ = kept_journal
    header, *records = split_lines(journal)
    config = json.loads(header)["config"]
    cases = [
        (line('{"kreg_journal":1}'), "line 1 is not a kreg tune header"),
        (line("hello"), "line 1 is not a kreg tune header"),
        (line(json.dumps({"kreg_tune_journal": 1, "config": config})),
         "was written by an older kreg (tune journal version 1; this kreg writes version 2)"),
        (line(json.dumps({"kreg_tune_journal": 9, "config": config})),
         "was written by a newer kreg (tune journal version 9"),
        # Before checksums: a plain JSON-lines journal.
        (json.dumps({"kreg_tune_journal": 1, "config": config}) + "\n" + records[0] + "\n",
         "line 1: the header has no valid checksum, so the file was written by an older kreg"),
    ]
    for content, message in cases:
        proc, edited, _ = resume_with(kreg_bin, kept_journal, tmp_path, content)
        assert proc.returncode == 1, (message, proc.stderr)
        assert f"journal '{edited}'" in proc.stderr and message in proc.stderr, proc.stderr
        assert "json.exception" not in proc.stderr


def test_journal_header_size_does_not_grow_with_the_grid(kreg_bin, small, tmp_path):
    # 200,000 bandwidths: the header names the grid by its size and checksum.
    out = tmp_path / "r.json"
    proc = subprocess.run(list(map(str, [
        kreg_bin, "tune", "--train", small / "train.csv", "--target", "y", "--test",
        small / "test.csv", "--cv", "holdout", "--bandwidths", "logspace:-2:2:200000", "--out",
        out, "--quiet", "--refit", tmp_path / "no" / "p.csv"])), capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr  # the refit cannot be written: the journal stays
    header = (tmp_path / "r.json.journal").read_text().split("\n", 1)[0]
    assert len(header) < 1000, len(header)
    assert '"bandwidths":{"checksum":' in header and '"count":200000' in header


# ---- the test file's columns ----------------------------------------------------
def test_test_columns_must_match_the_training_columns(kreg, small, tmp_path):
    X, y = make_data(100, 3, 2)
    write_csv(tmp_path / "swapped.csv", X[:, [1, 0, 2]], y, ["x1", "x0", "x2", "y"])
    write_csv(tmp_path / "renamed.csv", X, y, ["a", "x1", "x2", "y"])
    swapped = kreg(*tune_args(small, "--cv", "holdout", "--test", tmp_path / "swapped.csv"),
                   check=False)
    assert swapped.returncode == 2
    assert (f"'{tmp_path / 'swapped.csv'}' has column 'x1' where '{small / 'train.csv'}' has 'x0' "
            "(feature 0); the test features must match the training features in name and "
            "order") in swapped.stderr
    renamed = kreg(*tune_args(small, "--test", tmp_path / "renamed.csv", "--refit",
                              tmp_path / "p.csv"), check=False)
    assert renamed.returncode == 2
    assert "has column 'a' where" in renamed.stderr
    assert not (tmp_path / "p.csv").exists()
    # The same columns in the same order are accepted.
    kreg(*tune_args(small, "--test", small / "test.csv", "--refit", tmp_path / "p.csv"))
    assert (tmp_path / "p.csv").exists()


# ---- bandwidths beyond a double -------------------------------------------------
def test_bandwidths_beyond_a_double_say_why(kreg, small):
    for value, message in [
        ("1e400", "'1e400') is too large (overflows a double"),
        ("1e-320", "'1e-320') is below the smallest normal double (2.2250738585072014e-308)"),
        ("1e-400", "'1e-400') is too small (underflows a double to 0"),
    ]:
        proc = kreg("tune", "--train", small / "train.csv", "--target", "y", "--bandwidths", value,
                    check=False)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert "not a number" not in proc.stderr
        pred = kreg("predict", "--train", small / "train.csv", "--target", "y", "--query",
                    small / "test.csv", "--bandwidth", value, check=False)
        assert pred.returncode == 2, pred.stderr
        assert f"--bandwidth: {message.replace(chr(39) + ')', chr(39))}" in pred.stderr, pred.stderr


# ---- signals in every phase -----------------------------------------------------
class Run:
    """kreg running in the background; stderr is collected by a thread."""

    def __init__(self, args):
        self.proc = subprocess.Popen(list(map(str, args)), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.err = []
        self.thread = threading.Thread(target=self._collect, daemon=True)
        self.thread.start()

    def _collect(self):
        for text in self.proc.stderr:
            self.err.append(text)

    def stderr(self):
        return "".join(self.err)

    def wait_for(self, ready, what, limit=120):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if ready():
                return
            if self.proc.poll() is not None:
                self.thread.join()
                pytest.fail(f"the run ended before {what}: {self.stderr()}")
            time.sleep(0.01)
        self.proc.kill()
        pytest.fail(f"no {what} after {limit} s: {self.stderr()}")

    def stop(self, signum):
        """Sends `signum`; returns the exit status, which must come within the bound."""
        self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=STOP_BOUND_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"still running {STOP_BOUND_S} s after signal {signum}")
        self.thread.join()
        return code


@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    """Leave-one-out on 6000 points, 60 bandwidths, then the scalar optimiser: seconds."""
    root = tmp_path_factory.mktemp("slow")
    X, y = make_data(6000, 10, 5)
    write_csv(root / "train.csv", X, y)
    return root


def slow_args(kreg_bin, root, out):
    return [kreg_bin, "tune", "--train", root / "train.csv", "--target", "y", "--cv", "loo",
            "--bandwidths", "logspace:-1:2:60", "--optimize", "scalar", "--out", out]


@pytest.fixture(scope="module")
def uninterrupted(kreg_bin, slow, tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "r.json"
    subprocess.run(list(map(str, slow_args(kreg_bin, slow, out))), check=True,
                   capture_output=True)
    return json.loads(out.read_text())


def journal_types(journal):
    if not journal.exists():
        return []
    return [json.loads(text)["type"] for text in split_lines(journal)[1:]]


def resume_matches(kreg_bin, slow, out, uninterrupted):
    subprocess.run(list(map(str, slow_args(kreg_bin, slow, out) + ["--resume"])),
                   capture_output=True, text=True, check=True)
    got = json.loads(out.read_text())
    assert got["cv_results"] == uninterrupted["cv_results"]  # the same bits
    assert got["optimized"]["bandwidth"] == uninterrupted["optimized"]["bandwidth"]


SIGNALS = [signal.SIGINT, signal.SIGTERM]


@pytest.mark.parametrize("signum", SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_signal_while_reading(kreg_bin, tmp_path, signum):
    # A FIFO holds the reader in read_table until the test writes, which it
    # never does: once our end is open, kreg is reading.
    fifo = tmp_path / "train.csv"
    os.mkfifo(fifo)
    run = Run([kreg_bin, "tune", "--train", fifo, "--target", "y", "--out", tmp_path / "r.json"])
    fd = os.open(fifo, os.O_WRONLY)  # returns once kreg has opened the FIFO to read it
    try:
        code = run.stop(signum)
    finally:
        os.close(fd)
    assert code == 130, run.stderr()
    assert "kreg: interrupted" in run.stderr()
    assert not (tmp_path / "r.json.journal").exists()


@pytest.mark.parametrize("signum", SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_signal_in_the_grid_then_resume(kreg_bin, slow, uninterrupted, tmp_path, signum):
    out = tmp_path / "r.json"
    journal = tmp_path / "r.json.journal"
    run = Run(slow_args(kreg_bin, slow, out))
    run.wait_for(lambda: journal_types(journal).count("task") >= 2, "two grid tasks")
    assert run.stop(signum) == 130, run.stderr()
    assert "--resume" in run.stderr() and not out.exists()
    resume_matches(kreg_bin, slow, out, uninterrupted)


@pytest.mark.parametrize("signum", SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_signal_in_the_optimiser_then_resume(kreg_bin, slow, uninterrupted, tmp_path, signum):
    out = tmp_path / "r.json"
    journal = tmp_path / "r.json.journal"
    run = Run(slow_args(kreg_bin, slow, out))
    run.wait_for(lambda: "eval" in journal_types(journal), "an optimiser evaluation")
    assert run.stop(signum) == 130, run.stderr()
    assert "--resume" in run.stderr() and not out.exists()
    resume_matches(kreg_bin, slow, out, uninterrupted)


@pytest.fixture(scope="module")
def refit_data(tmp_path_factory):
    """6000 training points and 300,000 test points: the refit takes seconds,
    the 2-fold grid at one bandwidth a moment."""
    root = tmp_path_factory.mktemp("refit")
    X, y = make_data(6000, 10, 6)
    Xt, yt = make_data(300000, 10, 7)
    np.save(root / "X.npy", X)
    np.save(root / "y.npy", y.reshape(-1, 1))
    np.save(root / "Xt.npy", Xt)
    np.save(root / "yt.npy", yt.reshape(-1, 1))
    return root


def refit_args(kreg_bin, root, tmp_path):
    return [kreg_bin, "tune", "--train", root / "X.npy", "--train-y", root / "y.npy", "--test",
            root / "Xt.npy", "--test-y", root / "yt.npy", "--cv", "2", "--bandwidths", "1.5",
            "--out", tmp_path / "r.json", "--refit", tmp_path / "p.npy"]


@pytest.mark.parametrize("signum", SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_signal_in_the_refit_then_resume(kreg, kreg_bin, refit_data, tmp_path, signum):
    run = Run(refit_args(kreg_bin, refit_data, tmp_path))
    run.wait_for(lambda: "kreg tune: refit on" in run.stderr(), "the refit")
    assert run.stop(signum) == 130, run.stderr()
    assert "--resume" in run.stderr()
    assert not (tmp_path / "p.npy").exists() and not (tmp_path / "r.json").exists()
    resumed = subprocess.run(list(map(str, refit_args(kreg_bin, refit_data, tmp_path) +
                                      ["--resume", "--quiet"])), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    # The refit predicts in blocks: the bits of one `kreg predict`.
    kreg("predict", "--train", refit_data / "X.npy", "--train-y", refit_data / "y.npy", "--query",
         refit_data / "Xt.npy", "--bandwidth", "1.5", "--out", tmp_path / "direct.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), np.load(tmp_path / "direct.npy"))


@pytest.mark.parametrize("signum", SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_signal_while_writing_the_results(kreg_bin, small, tmp_path, signum):
    # A million bandwidths on 200 x 100 points: the grid takes a moment, the
    # results (JSON, CSV, SVG and the summary) seconds.
    out = tmp_path / "r.json"
    args = [kreg_bin, "tune", "--train", small / "train.csv", "--target", "y", "--test",
            small / "test.csv", "--cv", "holdout", "--bandwidths", "logspace:-3:3:1000000",
            "--out", out, "--csv", tmp_path / "r.csv", "--plot", tmp_path / "r.svg"]
    run = Run(args)
    run.wait_for(lambda: "kreg tune: writing the results" in run.stderr(), "the results")
    assert run.stop(signum) == 130, run.stderr()
    assert f"finished work is in the journal '{out}.journal'" in run.stderr()
    if signum == signal.SIGTERM:
        resumed = subprocess.run(list(map(str, args + ["--resume", "--quiet"])),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert resumed.returncode == 0, resumed.stderr
        results = json.loads(out.read_text())
        assert len(results["cv_results"]["mean_test_score"]) == 1000000
        assert not (tmp_path / "r.json.journal").exists()
