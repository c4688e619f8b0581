"""Section 4.4, offline data augmentation: random shifts, rotations, scalings
and noise, image by image in parallel; every copy depends only on (seed,
image, copy), so the result is the same bytes for any n_jobs (and the same
as `kreg augment --seed`).

    python examples/s4_4_augmentation.py [IMAGES.idx.gz]
"""
import sys

import numpy as np

import kreg


def main(path="/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", n=200):
    images = kreg.read_idx(path)[:n]  # (n, 28, 28) uint8
    labels = kreg.read_idx(path.replace("images-idx3", "labels-idx1"))[:n]
    augmented, repeated = kreg.augment(images, copies=4, seed=1, labels=labels)
    print(f"{images.shape} -> {augmented.shape}, labels {repeated.shape}")
    again = kreg.augment(images, copies=4, seed=1, n_jobs=1)
    assert np.array_equal(augmented, again)  # the same bytes on one thread
    changed = np.mean(augmented[::4] != images)
    print(f"first copies differ from their originals in {changed:.1%} of the pixels")


if __name__ == "__main__":
    main(*sys.argv[1:2])
