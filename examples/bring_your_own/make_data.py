"""Saves Fashion-MNIST as a numpy .npz for Tributary (data.dataset = "npz").

    /usr/bin/python3 examples/bring_your_own/make_data.py fmnist.npz

Reads the IDX files of Debian's dataset-fashion-mnist package and writes x (float32 images
[N, 28, 28], standardized with the training split's mean and std, so that every party, the
server and Python clients alike, sees the same inputs), y (labels), and the test split as
x_test and y_test. Your own data needs only x and y (plus, optionally, a `client` array naming
each example's owner for data.partition = "natural").
"""
import gzip
import sys

import numpy as np

SOURCE = "/usr/share/datasets/fashion-mnist"


def idx(name, offset):
    with gzip.open(f"{SOURCE}/{name}.gz", "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "fmnist.npz"
    x = idx("train-images-idx3-ubyte", 16).reshape(-1, 28, 28) / 255.0
    y = idx("train-labels-idx1-ubyte", 8)
    x_test = idx("t10k-images-idx3-ubyte", 16).reshape(-1, 28, 28) / 255.0
    y_test = idx("t10k-labels-idx1-ubyte", 8)
    mean, std = x.mean(), x.std()
    np.savez(path, x=((x - mean) / std).astype(np.float32), y=y,
             x_test=((x_test - mean) / std).astype(np.float32), y_test=y_test)
    print(f"wrote {path}: {len(y)} training and {len(y_test)} test images")


if __name__ == "__main__":
    main()
