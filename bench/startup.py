#!/usr/bin/env python3
"""The whole `kreg predict` process against the library's predict, in one run.

The tutorial's workload (kreg generate --n 10000 --d 10 --seed 123
--test-size 0.2: 8000 training and 2000 query rows, d = 10, Gaussian, h = 0.5,
f64) timed two ways on the same machine, back to back:

  library   bench_nw's Tutorial/fused/f64/threads:<jobs> (predict alone, the
            model fitted and the thread pool warm), the fastest repetition;
  process   `kreg predict --train train.csv --target y --query test.csv
            --bandwidth 0.5 --out /dev/null --jobs <jobs>` from exec to exit,
            with the read / predict / write times the command reports,
            `kreg --version` (start-up and exit with no work), and the
            same prediction from the same rows as NPY files (no text to
            parse: `kreg generate --format npy`).

It prints each figure's minimum and median over the runs and the ratio of the
whole process to the library time (issue 18's target: at most 1.5).
Standard library only; run it from the project root after a release build:

  .venv/bin/python bench/startup.py --build build/release --runs 30
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

REPORT = re.compile(r"time: read ([0-9.]+) s, predict ([0-9.]+) s .*, write ([0-9.]+) s")


def wall(cmd):
    """Seconds from spawn to exit of one run, and its stderr."""
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"startup.py: {' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed, done.stderr


def library_ms(bench_nw, jobs, repetitions):
    name = f"Tutorial/fused/f64/threads:{jobs}/real_time"
    out = subprocess.run(
        [bench_nw, f"--benchmark_filter=^{name}$", f"--benchmark_repetitions={repetitions}",
         "--benchmark_format=json"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=True).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    if not runs:
        sys.exit(f"startup.py: {bench_nw} has no benchmark {name} (bench_nw has threads:1 and 2)")
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
    return [b["real_time"] * scale[b["time_unit"]] for b in runs]


def row(label, values_ms):
    return f"  {label:<34} {min(values_ms):8.2f} {statistics.median(values_ms):8.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build/release", help="the build folder (kreg, bench/)")
    ap.add_argument("--runs", type=int, default=20, help="runs of each command")
    ap.add_argument("--jobs", type=int, default=2, help="threads: 1 or 2 (bench_nw's cases)")
    ap.add_argument("--data", help="a folder with train.csv and test.csv (default: generated)")
    args = ap.parse_args()
    kreg = os.path.join(args.build, "kreg")
    bench_nw = os.path.join(args.build, "bench", "bench_nw")
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            data = tmp
            subprocess.run([kreg, "generate", "--n", "10000", "--d", "10", "--seed", "123",
                            "--test-size", "0.2", "--out-dir", data],
                           stdout=subprocess.DEVNULL, check=True)
        predict = [kreg, "predict", "--train", os.path.join(data, "train.csv"), "--target", "y",
                   "--query", os.path.join(data, "test.csv"), "--bandwidth", "0.5",
                   "--out", "/dev/null", "--jobs", str(args.jobs)]
        # The same rows as NPY files: the process without the CSV parse.
        subprocess.run([kreg, "generate", "--n", "10000", "--d", "10", "--seed", "123",
                        "--test-size", "0.2", "--out-dir", tmp, "--format", "npy"],
                       stdout=subprocess.DEVNULL, check=True)
        predict_npy = [kreg, "predict", "--train", os.path.join(tmp, "X_train.npy"),
                       "--train-y", os.path.join(tmp, "y_train.npy"),
                       "--query", os.path.join(tmp, "X_test.npy"), "--bandwidth", "0.5",
                       "--out", "/dev/null", "--jobs", str(args.jobs)]
        wall(predict)  # the files and the binary in the page cache
        wall(predict_npy)
        version, whole, read, pred, write, npy = [], [], [], [], [], []
        for _ in range(args.runs):
            version.append(wall([kreg, "--version"])[0] * 1e3)
            seconds, err = wall(predict)
            match = REPORT.search(err)
            if not match:
                sys.exit(f"startup.py: kreg predict printed no times:\n{err}")
            whole.append(seconds * 1e3)
            r, p, w = (float(g) * 1e3 for g in match.groups())
            read.append(r)
            pred.append(p)
            write.append(w)
            npy.append(wall(predict_npy)[0] * 1e3)
        library = library_ms(bench_nw, args.jobs, max(5, args.runs // 4))

    other = [t - r - p - w for t, r, p, w in zip(whole, read, pred, write)]
    print(f"kreg predict, tutorial CSV (8000 x 2000, d = 10, f64), {args.jobs} threads, "
          f"{args.runs} runs; load {os.getloadavg()[0]:.2f}")
    print(f"  {'ms':<34} {'min':>8} {'median':>8}")
    print(row("library predict (bench_nw)", library))
    print(row("whole process", whole))
    print(row("  read (reported)", read))
    print(row("  predict incl. fit (reported)", pred))
    print(row("  write (reported)", write))
    print(row("  start-up, parsing, exit (rest)", other))
    print(row("kreg --version (start-up alone)", version))
    print(row("whole process, the same rows as NPY", npy))
    print(f"  ratio whole / library: {min(whole) / min(library):.2f} (min), "
          f"{statistics.median(whole) / statistics.median(library):.2f} (median); "
          f"NPY input {min(npy) / min(library):.2f} (min)")


if __name__ == "__main__":
    main()
