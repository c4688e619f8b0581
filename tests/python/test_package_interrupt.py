"""The kreg Python package releases the GIL during compute and answers Ctrl-C:
a subprocess starts a long predict / CV search / parallel_map, is sent SIGINT,
must raise KeyboardInterrupt within two seconds, and its estimator must work
afterwards.
"""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from kreg_package import kreg  # skips this module when kreg is not installed


# ------------------------------------------------------------- GIL released
@pytest.mark.parametrize("what", ["predict", "cv", "pairwise"])
def test_gil_released_during_compute(what):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4000, 8)), rng.normal(size=4000)
    model = kreg.NadarayaWatsonRegressor(0.5, n_jobs=1).fit(X, y)
    Z = rng.normal(size=(40000, 8))
    work = {
        "predict": lambda: model.predict(Z),
        "cv": lambda: kreg.NadarayaWatsonCV(np.logspace(-1, 1, 20), cv="loo", n_jobs=1).fit(X, y),
        "pairwise": lambda: [kreg.pairwise_sq_distances(Z[:8000], X) for _ in range(4)],
    }[what]
    done = threading.Event()
    elapsed = []

    def run():
        start = time.perf_counter()
        work()
        elapsed.append(time.perf_counter() - start)
        done.set()

    t = threading.Thread(target=run)
    t.start()
    # Python bytecode on this thread runs while the other one computes: with
    # the GIL held there, this loop would stall until the call returned.
    ticks = 0
    while not done.is_set():
        ticks += 1
        time.sleep(0)
    t.join()
    assert elapsed[0] > 0.05, "the workload is too small to tell"
    assert ticks > 1000, f"only {ticks} iterations in {elapsed[0]:.2f} s: the GIL was held"


# ------------------------------------------------------------------ Ctrl-C
CHILD = textwrap.dedent(
    """
    import signal, sys, time
    import numpy as np
    import kreg

    # A shell may start us with SIGINT ignored; Python then installs no handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    what = sys.argv[1]
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20000, 10)), rng.normal(size=20000)
    small_X, small_y = X[:300], y[:300]
    if what == "predict":
        est = kreg.NadarayaWatsonRegressor(0.5).fit(X, y)
        Z = rng.normal(size=(400000, 10))
        call = lambda: est.predict(Z)
        after = lambda: est.predict(X[:5])
    elif what == "cv":
        est = kreg.NadarayaWatsonCV(np.logspace(-1, 1, 30), cv="loo")
        call = lambda: est.fit(X, y)
        after = lambda: est.fit(small_X, small_y).predict(X[:5])
    elif what in ("map", "map1"):
        n_jobs = 1 if what == "map1" else 2
        def f(i):
            time.sleep(0.02)
            return i
        call = lambda: kreg.parallel_map(f, range(100000), n_jobs=n_jobs)
        after = lambda: kreg.parallel_map(f, range(4), n_jobs=n_jobs)
    print("started", flush=True)
    try:
        call()
        print("finished", flush=True)
    except KeyboardInterrupt as e:
        print("interrupted", "".join(getattr(e, "__notes__", [])), flush=True)
    print("after", np.asarray(after()).shape, flush=True)
    """
)


@pytest.mark.parametrize("what", ["predict", "cv", "map", "map1"])
def test_ctrl_c_raises_keyboard_interrupt_promptly(what, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen(
        [sys.executable, str(script), what],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "started", proc.stderr.read()
        time.sleep(0.7)  # well inside the call (each takes tens of seconds)
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        line = proc.stdout.readline()
        latency = time.perf_counter() - sent
        assert line.startswith("interrupted"), (line, proc.stderr.read())
        assert latency < 2.0, f"KeyboardInterrupt took {latency:.2f} s"
        if what.startswith("map"):
            assert "kreg.parallel_map" in line or what == "map"
        # Not communicate(): it reads the pipe itself and would miss an
        # "after" line that readline() above already pulled into its buffer.
        proc.wait(timeout=60)
        out, err = proc.stdout.read(), proc.stderr.read()
        assert proc.returncode == 0, err
        assert out.startswith("after"), (out, err)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_interrupted_estimator_still_usable_in_process():
    # The same as above without a subprocess: a SIGINT to ourselves from a
    # timer, on the main thread (pytest's SIGINT handler is Python's default).
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are delivered to the main thread only")
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT does not raise KeyboardInterrupt in this process")
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(20000, 10)), rng.normal(size=20000)
    model = kreg.NadarayaWatsonRegressor(0.5).fit(X, y)
    expected = model.predict(X[:50])
    Z = rng.normal(size=(400000, 10))
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        model.predict(Z)
    timer.join()
    assert time.perf_counter() - start < 2.5
    np.testing.assert_array_equal(model.predict(X[:50]), expected)
