#!/usr/bin/env python3
"""The fused engine's speed as a share of this machine's own ceilings, in one run.

Issue 18's figures, measured together so that every share compares a kreg
time with ceilings taken minutes apart on the same machine:

  d = 10     1 / (d / FMA rate + 1 / exp rate) pairs a second, with
             bench_roofline's FMA and exponential rates at the same thread
             count (the engine's own 2^x); against bench_nw's
             Tutorial/fused/<type>/threads:<t> and Scale/fused/f32 (n = m = 1e5).
  d = 784    (with --fashion) the BLAS's gemm at Fashion-MNIST's shape, run
             with OPENBLAS_NUM_THREADS=<t>: the multiply-adds of one distance
             pass at that rate, against Fashion/fused/<type>/threads:<t>.

kreg's times are medians of --repetitions runs; the rates are one run each.
Standard library only; from the project root after a release build:

  .venv/bin/python bench/ceiling.py --build build/release [--fashion]
"""
import argparse
import json
import os
import re
import subprocess
import sys

D_TUTORIAL = 10
D_FASHION = 784


def run_json(cmd, env=None):
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"ceiling.py: {' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout)


def seconds(entry):
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[entry["time_unit"]]
    return entry["real_time"] * scale


def rates(build, threads_env=None):
    """{(kind, type, threads): rate} from bench_roofline."""
    out = {}
    pattern = re.compile(r"Roofline/(fma|exp|gemm)/(f32|f64)(?:/real_time)?(?:/threads:(\d+))?")
    env = dict(os.environ)
    if threads_env is not None:
        env["OPENBLAS_NUM_THREADS"] = str(threads_env)
    filt = "gemm" if threads_env is not None else "fma|exp"
    data = run_json([f"{build}/bench/bench_roofline", f"--benchmark_filter={filt}",
                     "--benchmark_format=json"], env)
    for b in data["benchmarks"]:
        m = pattern.fullmatch(b["name"])
        if not m:
            continue
        kind, dtype, t = m.group(1), m.group(2), int(m.group(3) or threads_env or 1)
        key = {"fma": "lane_fma_per_s", "exp": "exp_per_s", "gemm": "fma_per_s"}[kind]
        out[(kind, dtype, t)] = b[key]
    return out


def kreg_medians(build, pattern, repetitions):
    data = run_json([f"{build}/bench/bench_nw", f"--benchmark_filter={pattern}",
                     f"--benchmark_repetitions={repetitions}",
                     "--benchmark_report_aggregates_only=true", "--benchmark_format=json"])
    out = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name = re.sub(r"(/iterations:\d+)?/real_time$", "", b["run_name"])
        out[name] = (seconds(b), b["pairs_per_s"])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build/release")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--fashion", action="store_true", help="also d = 784 (about a minute)")
    args = parser.parse_args()

    info = run_json([f"{args.build}/kreg", "info", "--json"])
    roof = rates(args.build)
    pattern = "Tutorial/fused|Scale/fused" + ("|Fashion/fused" if args.fashion else "")
    kreg = kreg_medians(args.build, pattern, args.repetitions)
    gemm = {}
    if args.fashion:
        for t in sorted({int(n.rsplit(":", 1)[1]) for n in kreg if n.startswith("Fashion/")}):
            gemm.update(rates(args.build, threads_env=t))

    print(f"CPU {info['cpu']['model']}, {info['cpu']['logical_cores']} logical cores, "
          f"SIMD {info['simd']['active']}, BLAS core {info['blas']['core']}")
    print()
    print("| case | ceiling | kreg fused (median) | share |")
    print("|---|---:|---:|---:|")
    for name, (time_s, pairs_per_s) in kreg.items():
        m = re.fullmatch(r"(Tutorial|Scale|Fashion)/fused/(f32|f64)/threads:(\d+)", name)
        if not m:
            continue
        workload, dtype, t = m.group(1), m.group(2), int(m.group(3))
        if workload == "Fashion":
            rate = gemm.get(("gemm", dtype, t))
            if rate is None:
                continue
            ceiling = rate / D_FASHION  # pairs a second at the gemm's rate
            what = f"gemm {rate:.3g} FMA/s"
        else:
            fma, exp = roof.get(("fma", dtype, t)), roof.get(("exp", dtype, t))
            if fma is None or exp is None:
                continue
            ceiling = 1.0 / (D_TUTORIAL / fma + 1.0 / exp)
            what = f"{ceiling:.3g} pairs/s"
        print(f"| {name} | {what} | {time_s * 1e3:.2f} ms, {pairs_per_s:.3g} pairs/s "
              f"| {100 * pairs_per_s / ceiling:.1f}% |")
    print()
    for (kind, dtype, t), v in sorted(roof.items()):
        print(f"roofline {kind} {dtype} threads:{t}: {v:.4g}/s")
    for (kind, dtype, t), v in sorted(gemm.items()):
        print(f"roofline {kind} {dtype} OPENBLAS_NUM_THREADS={t}: {v:.4g}/s")


if __name__ == "__main__":
    main()
