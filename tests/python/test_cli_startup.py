"""What `kreg` does before and while it reads: the start-up it skips and the
threads that parse a large CSV file.

- A shared libhwy calibrates Highway's benchmark timer in its static
  initialiser; the kreg tool answers that call itself (apps/kreg/hwy_startup.cpp),
  which the dynamic loader's bindings show.
- The tool links a static OpenBLAS where the build found one; `kreg info`
  names the file the BLAS runs from.
- `kreg predict --jobs N` parses a large CSV file on N threads: the output is
  the same bytes for any N.
"""
import json
import os
import re
import subprocess

import numpy as np
import pytest

TIMER = "_ZN3hwy8platform15TimerResolutionEv"  # hwy::platform::TimerResolution()


def _shared_libhwy(kreg_bin):
    """The libhwy kreg loads, or None when it is linked in statically."""
    out = subprocess.run(["ldd", kreg_bin], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "libhwy" in line and "=>" in line:
            return line.split("=>")[1].split()[0]
    return None


def test_hwy_timer_calibration_is_answered_by_kreg(kreg_bin):
    libhwy = _shared_libhwy(kreg_bin)
    if libhwy is None:
        pytest.skip("kreg links Highway statically here: no libhwy initialiser runs at start-up")
    env = dict(os.environ, LD_DEBUG="bindings")
    proc = subprocess.run([kreg_bin, "--version"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    bindings = re.findall(r"binding file (.+?) \[\d+\] to (.+?) \[\d+\]: normal symbol `" + TIMER,
                          proc.stderr)
    if not bindings and "binding file" not in proc.stderr:
        pytest.skip("this C library's dynamic loader prints no LD_DEBUG=bindings (not glibc)")
    # libhwy's own call (its static initialiser) bound to the kreg executable.
    assert any("libhwy" in os.path.basename(caller) and target == kreg_bin
               for caller, target in bindings), bindings or proc.stderr[-2000:]


def test_info_names_the_openblas_kreg_runs(kreg_bin):
    """The kreg tool links a static OpenBLAS where the build found one (its
    shared one, with libgfortran, is a third of the start-up); `kreg info`
    says which file the BLAS code runs from, and the loader agrees."""
    proc = subprocess.run([kreg_bin, "info", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    blas_file = json.loads(proc.stdout)["blas"]["file"]
    assert blas_file.startswith("/"), blas_file
    ldd = subprocess.run(["ldd", kreg_bin], capture_output=True, text=True).stdout
    shared = [line.split("=>")[1].split()[0] for line in ldd.splitlines()
              if "openblas" in line and "=>" in line]
    if os.path.realpath(blas_file) == os.path.realpath(kreg_bin):
        assert shared == [], ldd  # built in: no shared OpenBLAS loaded beside it
    else:
        assert [os.path.realpath(p) for p in shared] == [os.path.realpath(blas_file)], ldd


def test_predict_reads_a_large_csv_the_same_on_any_thread_count(kreg, tmp_path):
    rng = np.random.default_rng(5)
    n, d = 12000, 6  # about 1.2 MB of text: several pieces for the parser
    X = rng.normal(size=(n, d)) * 10
    y = X @ rng.normal(size=d) + rng.normal(size=n)
    train = tmp_path / "train.csv"
    with open(train, "w") as f:
        f.write(",".join([f"x{j}" for j in range(d)] + ["y"]) + "\n")
        for row, target in zip(X, y):
            f.write(",".join(repr(float(v)) for v in row) + f",{float(target)!r}\n")
    assert train.stat().st_size > 1 << 20
    query = tmp_path / "query.csv"
    with open(query, "w") as f:
        f.write(",".join(f"x{j}" for j in range(d)) + "\n")
        for row in X[:200]:
            f.write(",".join(repr(float(v)) for v in row) + "\n")
    outputs = []
    for jobs in (1, 2, 3):
        out = tmp_path / f"pred{jobs}.csv"
        kreg("predict", "--train", train, "--target", "y", "--query", query, "--bandwidth", "2",
             "--jobs", jobs, "--out", out)
        outputs.append(out.read_bytes())
    assert len(outputs[0].splitlines()) == 201
    assert outputs[1] == outputs[0]
    assert outputs[2] == outputs[0]

    # A bad cell far into the file: the same message on any thread count.
    text = train.read_text().splitlines(keepends=True)
    text[9001] = "oops" + text[9001][text[9001].index(","):]
    bad = tmp_path / "bad.csv"
    bad.write_text("".join(text))
    messages = []
    for jobs in (1, 2):
        proc = kreg("predict", "--train", bad, "--target", "y", "--query", query,
                    "--bandwidth", "2", "--jobs", jobs, "--out", tmp_path / "x.csv", check=False)
        assert proc.returncode == 1
        messages.append(proc.stderr)
    assert f"{bad}:9002:1: expected a number, found 'oops'" in messages[0], messages[0]
    assert messages[1] == messages[0]
