"""Section 1, compute environments: what kreg runs on here (the tutorial looks
at htop), and a long computation stopped with Ctrl-C without losing the
session (the tutorial's `except KeyboardInterrupt: print("Graceful Exit")`).

    python examples/s1_compute_environment.py
"""
import subprocess
import sys

import numpy as np

import kreg


def main():
    print(f"kreg {kreg.__version__}: {kreg.hardware_concurrency()} hardware threads")
    engines = ", ".join(f"{name} ({device})" for name, device in kreg.available_engines())
    print("engines, in the order engine='auto' tries them:", engines)
    # `kreg info` prints the CPU, the SIMD target in use and the BLAS kernels.
    info = subprocess.run([sys.executable, "-m", "kreg", "info"], capture_output=True, text=True)
    print(info.stdout.strip() or info.stderr.strip())

    X, y = kreg.generate_data(4000, 10, seed=123)
    model = kreg.NadarayaWatsonRegressor(bandwidth=0.5).fit(X, y)
    try:
        # Every kreg computation releases the GIL and answers Ctrl-C within about
        # a tenth of a second with KeyboardInterrupt; the model stays usable.
        for _ in range(3):
            model.predict(X)
    except KeyboardInterrupt:
        print("Graceful Exit")
    print(f"predicted {len(X)} points 3 times; R^2 on the training set {model.score(X, y):.4f}")
    assert np.isfinite(model.score(X, y))


if __name__ == "__main__":
    main()
