"""kreg's CUDA engine side by side with its GPU peers, in one run on one GPU.

Peers (float32 unless said):
  * the tutorial's GPUNadarayaWatsonRegressor (torch, builds the m x n
    matrix), copied from the tutorial, in float64 as the tutorial runs it
    and in float32;
  * torch chunked: cdist / exp / matmul over blocks of queries;
  * torch scaled_dot_product_attention with a per-key bias (NW is attention:
    scores -||z - x||^2 / (2 h^2) = (z.x - ||x||^2 / 2) / h^2 + const(z));
  * pykeops (LazyTensor Gaussian sum), if importable, run in a child process
    so that a crash is reported as a crash;
  * kreg: bench/kreg_gpu_time (built with the CUDA engine).

Workloads (the issue's): the tutorial's 2000 x 8000, d = 10, from host arrays;
N = M = 1e6, d = 3; 1e5 x 1e6, d = 3 (torch chunked); 10000 x 60000,
d = 784; a 30-bandwidth leave-one-out on 1e5 points, d = 3 (kreg).

Each figure is the best of --repeat runs after a warm-up, synchronised with
torch.cuda.synchronize(). Prints a markdown table and writes JSON (--out).
Usage: python3 bench/peers_gpu.py --kreg-time PATH/kreg_gpu_time [--out F]
       [--quick]  (smaller sizes, for a dry run)
"""
import argparse
import json
import math
import subprocess
import sys
import time

import numpy as np

# The tutorial's code (parallel-processing-tutorial.md, section 3), verbatim
# but for the device choice and check_X_y, which need a GPU and sklearn.
TUTORIAL = '''
def pdist(sample_1, sample_2, eps=1e-5):
    n_1, n_2 = sample_1.size(0), sample_2.size(0)
    norms_1 = torch.sum(sample_1**2, dim=1, keepdim=True)
    norms_2 = torch.sum(sample_2**2, dim=1, keepdim=True)
    norms = (norms_1.expand(n_1, n_2) +
             norms_2.transpose(0, 1).expand(n_1, n_2))
    distances_squared = norms - 2 * sample_1.mm(sample_2.t())
    return torch.sqrt(eps + torch.abs(distances_squared))

class GPUNadarayaWatsonRegressor:
    def __init__(self, bandwidth):
        self.h = bandwidth
        self.device = torch.device("cuda")

    def fit(self, X, y):
        X, y = check_X_y(X, y)
        self.X_train = torch.from_numpy(X).to(self.device)
        self.y_train = torch.from_numpy(y).to(self.device)
        return self

    def predict(self, X):
        X = check_array(X)
        X = torch.from_numpy(X).to(self.device)
        kernels = torch.exp(-0.5 * pdist(X, self.X_train) ** 2 / self.h ** 2)
        return (torch.matmul(kernels, self.y_train) / kernels.sum(axis=1)).to("cpu")
'''


def best_of(repeat, f, sync):
    f()
    sync()
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def row(results, workload, peer, seconds=None, pairs=None, note=""):
    r = {"workload": workload, "peer": peer, "seconds": seconds,
         "pairs_per_s": (pairs / seconds) if seconds else None, "note": note}
    results.append(r)
    s = f"{seconds * 1e3:.3f} ms" if seconds else "-"
    p = f"{r['pairs_per_s']:.2e}" if seconds else "-"
    print(f"| {workload} | {peer} | {s} | {p} | {note} |", flush=True)


def kreg_time(exe, *args):
    """kreg_gpu_time's JSON, or (None, why)."""
    p = subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        return None, (p.stderr.strip() or f"exit {p.returncode}")[-300:]
    return json.loads(p.stdout), ""


def torch_chunked(torch, Z, X, y, h, chunk):
    out = torch.empty(Z.shape[0], device=Z.device, dtype=Z.dtype)
    for i in range(0, Z.shape[0], chunk):
        d2 = torch.cdist(Z[i:i + chunk], X).square_()
        d2 -= d2.min(dim=1, keepdim=True).values  # the shift: no 0 / 0
        w = torch.exp_(d2.mul_(-0.5 / h ** 2))
        out[i:i + chunk] = (w @ y) / w.sum(dim=1)
    return out


def torch_sdpa(torch, Z, X, y, h, chunk):
    import torch.nn.functional as F
    s = 1.0 / h  # q.k scaled by 1/h^2 in total: q = z / h, k = x / h, scale 1
    k = (X * s).unsqueeze(0).unsqueeze(0)
    v = y.reshape(1, 1, -1, 1)
    bias = (-0.5 * (X * X).sum(dim=1) / h ** 2)
    out = torch.empty(Z.shape[0], device=Z.device, dtype=Z.dtype)
    for i in range(0, Z.shape[0], chunk):
        q = (Z[i:i + chunk] * s).unsqueeze(0).unsqueeze(0)
        mask = bias.expand(q.shape[2], -1).unsqueeze(0).unsqueeze(0)
        out[i:i + chunk] = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                                          scale=1.0).reshape(-1)
    return out


KEOPS_CHILD = r'''
import sys, time, torch
from pykeops.torch import LazyTensor
m, n, d, h = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
g = torch.Generator(device="cuda").manual_seed(1)
Z = torch.randn(m, d, device="cuda", generator=g); X = torch.randn(n, d, device="cuda", generator=g)
y = torch.sin(X).sum(1, keepdim=True)
def run():
    zi, xj = LazyTensor(Z[:, None, :]), LazyTensor(X[None, :, :])
    K = (-((zi - xj) ** 2).sum(-1) / (2 * h * h)).exp()
    return (K @ y) / K.sum(1)
run(); torch.cuda.synchronize()
t0 = time.perf_counter(); run(); torch.cuda.synchronize()
print(time.perf_counter() - t0)
'''


def keops(workload, results, m, n, d, h):
    try:
        import pykeops  # noqa: F401
    except Exception as e:  # not installed: say so
        row(results, workload, "pykeops", note=f"not importable: {type(e).__name__}: {e}"[:120])
        return
    p = subprocess.run([sys.executable, "-c", KEOPS_CHILD, str(m), str(n), str(d), str(h)],
                       capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        sig = -p.returncode if p.returncode < 0 else None
        what = f"crashed (signal {sig})" if sig else f"failed (exit {p.returncode})"
        row(results, workload, "pykeops", note=f"{what}: {p.stderr.strip()[-150:]}")
        return
    row(results, workload, "pykeops", float(p.stdout.strip().splitlines()[-1]), m * n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kreg-time", required=True)
    ap.add_argument("--out")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    import torch
    from sklearn.utils import check_array, check_X_y

    sync = torch.cuda.synchronize
    results = []
    print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print("| workload | peer | time | pairs/s | note |\n|---|---|---|---|---|")
    q = 10 if a.quick else 1

    # 1. The tutorial's size from host arrays.
    wl = "tutorial 2000 x 8000, d = 10, host arrays"
    rng = np.random.default_rng(123)
    Xh, Zh = rng.normal(size=(8000, 10)), rng.normal(size=(2000, 10))
    yh = np.sin(Xh).sum(axis=1)
    ns = {"torch": torch, "check_X_y": check_X_y, "check_array": check_array}
    exec(TUTORIAL, ns)
    for dt in (np.float64, np.float32):
        model_cls = ns["GPUNadarayaWatsonRegressor"]

        def tut():
            model_cls(0.5).fit(Xh.astype(dt), yh.astype(dt)).predict(Zh.astype(dt))
        row(results, wl, f"tutorial class, {np.dtype(dt).name}", best_of(a.repeat, tut, sync),
            2000 * 8000)
    for mode in ("host", "predict"):
        j, why = kreg_time(a.kreg_time, mode, 2000, 8000, 10, "--repeat", a.repeat * 3)
        row(results, wl, f"kreg ({'fit + predict' if mode == 'host' else 'predict'})",
            j and j["seconds"], 2000 * 8000, why or j["engine"])

    # 2. N = M = 1e6, d = 3 (/ q for a dry run).
    m = n = 1_000_000 // q
    wl = f"{m} x {n}, d = 3"
    j, why = kreg_time(a.kreg_time, "predict", m, n, 3, "--repeat", a.repeat)
    row(results, wl, "kreg", j and j["seconds"], m * n, why or j["engine"])
    g = torch.Generator(device="cuda").manual_seed(1)
    X = torch.randn(n, 3, device="cuda", generator=g)
    Z = torch.randn(m, 3, device="cuda", generator=g)
    y = torch.sin(X).sum(1)
    for name, f in (("torch SDPA + bias", lambda: torch_sdpa(torch, Z, X, y, 0.5, 2048)),):
        try:
            row(results, wl, name, best_of(1, f, sync), m * n)
        except Exception as e:  # out of memory and the like: reported, not fatal
            row(results, wl, name, note=f"{type(e).__name__}: {e}"[:120])
    keops(wl, results, m, n, 3, 0.5)

    # 3. 1e5 x 1e6, d = 3: torch chunked (as the issue measured it) and kreg.
    m2 = 100_000 // q
    wl = f"{m2} x {n}, d = 3"
    try:
        row(results, wl, "torch chunked",
            best_of(1, lambda: torch_chunked(torch, Z[:m2], X, y, 0.5, 1024), sync), m2 * n)
    except Exception as e:
        row(results, wl, "torch chunked", note=f"{type(e).__name__}: {e}"[:120])
    j, why = kreg_time(a.kreg_time, "predict", m2, n, 3, "--repeat", a.repeat)
    row(results, wl, "kreg", j and j["seconds"], m2 * n, why or j["engine"])
    del X, Z, y

    # 4. 10000 x 60000, d = 784.
    m3, n3 = 10_000 // q, 60_000 // q
    wl = f"{m3} x {n3}, d = 784"
    X = torch.randn(n3, 784, device="cuda", generator=g)
    Z = torch.randn(m3, 784, device="cuda", generator=g)
    y = torch.sin(X).sum(1)
    for name, f in (("torch chunked", lambda: torch_chunked(torch, Z, X, y, 30.0, 1024)),
                    ("torch SDPA + bias", lambda: torch_sdpa(torch, Z, X, y, 30.0, 1024))):
        try:
            row(results, wl, name, best_of(a.repeat, f, sync), m3 * n3)
        except Exception as e:
            row(results, wl, name, note=f"{type(e).__name__}: {e}"[:120])
    j, why = kreg_time(a.kreg_time, "predict", m3, n3, 784, "--repeat", a.repeat, "--h", 30)
    row(results, wl, "kreg", j and j["seconds"], m3 * n3, why or j["engine"])
    del X, Z, y

    # 5. A 30-bandwidth leave-one-out on 1e5 points, d = 3.
    n5 = 100_000 // q
    wl = f"LOO, 30 bandwidths, n = {n5}, d = 3"
    j, why = kreg_time(a.kreg_time, "loo", n5, 3, 30, "--repeat", 1)
    row(results, wl, "kreg", j and j["seconds"], n5 * n5 * 30, why or j["engine"])

    if a.out:
        with open(a.out, "w") as f:
            json.dump({"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
