"""kreg.KernelRegression side by side with statsmodels' KernelReg, in one run
on one machine, wall clock:

  (a) ll fit at fixed bandwidths, n = 1000, d = 2 and d = 5: the fit values at
      the 1000 training points (statsmodels: KernelReg(..., bw=h).fit();
      kreg: KernelRegression(bandwidth=h).fit(X, y).predict(X));
  (b) cv_ls bandwidth selection for ll, d = 2, at n = 1000 and n = 5000
      (statsmodels: KernelReg(..., reg_type='ll', bw='cv_ls'); kreg:
      KernelRegression(reg_type='ll', bandwidth='cv_ls')). statsmodels at
      n = 5000 is not run to the end: a few of its cv_loo evaluations are
      timed at n = 5000 and multiplied by the number of evaluations its fmin
      used at n = 1000 (an estimate, printed as such);
  (c) lc as (a), for reference.

Bandwidths for (a) and (c): statsmodels' own start, 1.06 sd n^(-1/(4 + d)).
Fits: the best of 3 runs (statsmodels) and of 7 (kreg); selections: one run.
kreg runs with every core (n_jobs=None) and with one (n_jobs=1); statsmodels
is single-threaded Python over numpy. Both selections are scored by the same
function (kreg's cv_ls, which equals statsmodels' cv_loo to 1e-9: see
tests/python/test_local_statsmodels.py).

Usage: python bench/peers_statsmodels.py [--quick] [--engine NAME]
(prints markdown; --quick skips the n = 5000 selection; --engine runs kreg's
fits on that Nadaraya-Watson engine, e.g. fused or cuda, instead of the
local engine: docs/estimators.md)
"""
import os
import platform
import sys
import time

import numpy as np
from statsmodels.nonparametric.kernel_regression import KernelReg

import kreg

ENGINE = sys.argv[sys.argv.index("--engine") + 1] if "--engine" in sys.argv else "auto"


def KR(**kw):
    """kreg.KernelRegression on --engine's engine."""
    return kreg.KernelRegression(engine=ENGINE, **kw)


class CountingKernelReg(KernelReg):
    """KernelReg that counts its cv_loo evaluations (fmin's function calls)."""

    calls = 0

    def cv_loo(self, bw, func):
        CountingKernelReg.calls += 1
        return super().cv_loo(bw, func)


def data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, d))
    y = np.sin(X.sum(axis=1)) + 0.3 * rng.standard_normal(n)
    return X, y


def rule_of_thumb(X):
    n, d = X.shape
    return 1.06 * X.std(axis=0) * n ** (-1.0 / (4 + d))


def timed(fn, repeat=1):
    """The best of `repeat` runs: on a shared machine the other processes only
    ever add time, so the minimum is the figure least disturbed by them."""
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.min(times)), out


def kreg_fit(X, y, reg, bw, n_jobs):
    return KR(reg_type=reg, bandwidth=bw, n_jobs=n_jobs).fit(X, y).predict(X)


def fixed_rows(reg, dims, n=1000):
    rows = []
    for d in dims:
        X, y = data(n, d)
        bw = rule_of_thumb(X)
        t_sm, (sm_mean, _) = timed(
            lambda: KernelReg(y, X, var_type="c" * d, reg_type=reg, bw=bw).fit(), repeat=3)
        kreg_fit(X, y, reg, bw, None)  # first call: loads the module's pages
        t_k2, mean = timed(lambda: kreg_fit(X, y, reg, bw, None), repeat=7)
        t_k1, _ = timed(lambda: kreg_fit(X, y, reg, bw, 1), repeat=7)
        diff = np.max(np.abs(mean - sm_mean)) / np.max(np.abs(sm_mean))
        rows.append((f"{reg} fit, n = {n}, d = {d}", t_sm, "", t_k1, t_k2, f"{diff:.1e}"))
    return rows


def select_rows(sizes):
    rows, evals_1000 = [], None
    for n in sizes:
        X, y = data(n, 2, seed=1)
        note = ""
        if n <= 1000:
            CountingKernelReg.calls = 0
            t_sm, sm = timed(lambda: CountingKernelReg(y, X, var_type="cc", reg_type="ll",
                                                        bw="cv_ls"))
            evals_1000 = CountingKernelReg.calls
            sm_bw = sm.bw
            note = f"statsmodels: {evals_1000} cv_loo evaluations"
        else:
            sm = KernelReg(y, X, var_type="cc", reg_type="ll", bw=rule_of_thumb(X))
            few = 2
            t_few, _ = timed(lambda: [sm.cv_loo(rule_of_thumb(X) * s, sm.est["ll"])
                                      for s in (1.0, 1.1)[:few]])
            t_sm = t_few / few * evals_1000
            sm_bw = None
            note = (f"statsmodels ESTIMATED: {t_few / few:.1f} s per cv_loo (mean of {few}) x "
                    f"{evals_1000} evaluations (its count at n = 1000)")
        t_k1, m1 = timed(lambda: KR(reg_type="ll", bandwidth="cv_ls",
                                                       n_jobs=1).fit(X, y))
        t_k2, m2 = timed(lambda: KR(reg_type="ll", bandwidth="cv_ls").fit(X, y))
        assert np.array_equal(m1.bandwidth_, m2.bandwidth_)
        # statsmodels' single Nelder-Mead run (kreg's default adds a wide one).
        t_k0, m0 = timed(lambda: KR(reg_type="ll", bandwidth="cv_ls",
                                                       restarts=0).fit(X, y))
        score = ""
        if sm_bw is not None:
            theirs = KR(reg_type="ll", bandwidth=np.abs(sm_bw)).fit(X, y)
            score = f"cv_ls {m2.criterion_:.6f} vs {theirs.criteria()['cv_ls']:.6f}"
        per_sm = t_sm / evals_1000
        per_k = t_k1 / m1.n_evaluations_
        note = (f"{note}; kreg: {m2.n_evaluations_} evaluations; per evaluation "
                f"{per_sm:.3g} s vs {per_k * 1e3:.3g} ms (1 thread): {per_sm / per_k:.0f}x"
                + (f"; {score}" if score else "")
                + f"; kreg restarts=0 (all cores): {t_k0 * 1e3:.3g} ms, {t_sm / t_k0:.0f}x, "
                f"{m0.n_evaluations_} evaluations, cv_ls {m0.criterion_:.6f}")
        rows.append((f"ll cv_ls selection, n = {n}, d = 2", t_sm, "estimated" if n > 1000 else "",
                     t_k1, t_k2, note))
    return rows


def main():
    quick = "--quick" in sys.argv
    load = os.getloadavg()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical "
          f"cores; load average at start {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}; kreg "
          f"engine {ENGINE}\n")
    rows = fixed_rows("ll", (2, 5)) + fixed_rows("lc", (2, 5))
    rows += select_rows([1000] if quick else [1000, 5000])
    print("| case | statsmodels | kreg 1 thread | kreg all cores | ratio (all cores) | "
          "ratio (1 thread) | notes |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, t_sm, flag, t_k1, t_k2, note in rows:
        sm = f"{t_sm:.3g} s" + (" (est.)" if flag else "")
        if note and note[0].isdigit():
            note = f"max rel. diff. of the fits {note}"
        print(f"| {name} | {sm} | {t_k1 * 1e3:.3g} ms | {t_k2 * 1e3:.3g} ms | "
              f"{t_sm / t_k2:.0f}x | {t_sm / t_k1:.0f}x | {note} |")
    load = os.getloadavg()
    print(f"\nload average at end {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}")


if __name__ == "__main__":
    main()
