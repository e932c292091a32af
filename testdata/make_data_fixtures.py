"""Writes the data-format fixtures the loader tests read (committed next to this script).

Run with Debian's python3-numpy: /usr/bin/python3 testdata/make_data_fixtures.py
The examples are three well-separated Gaussian blobs in four dimensions (a model that learns
anything separates them), owned by six clients.
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def blobs(n: int, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    centres = np.array([[4, 0, 0, 0], [0, 4, 0, 0], [0, 0, 4, 0]], dtype=np.float64)
    x = centres[y] + rng.normal(size=(n, 4))
    client = rng.integers(0, 6, size=n) * 10  # sparse ids: 0, 10, ..., 50
    return x.astype(np.float32), y.astype(np.int64), client.astype(np.int32)


def path(name: str) -> str:
    return os.path.join(HERE, name)


if __name__ == "__main__":
    x, y, client = blobs(300, 1)
    x_test, y_test, _ = blobs(90, 2)
    np.savez(path("blobs.npz"), x=x, y=y, client=client)
    # Compressed, with its own test split, images as uint8 and labels as uint8.
    images = (np.clip(x[:, :, None] * 20 + 128, 0, 255) * np.ones((1, 1, 9))).reshape(300, 6, 6)
    np.savez_compressed(path("blobs_images_compressed.npz"), x=images.astype(np.uint8),
                        y=y.astype(np.uint8), x_test=images[:30].astype(np.uint8),
                        y_test=y[:30].astype(np.uint8))
    with open(path("blobs.npz"), "rb") as f:
        whole = f.read()
    with open(path("truncated.npz"), "wb") as f:
        f.write(whole[: len(whole) // 2])
    np.savez(path("bad_labels.npz"), x=x[:10], y=np.linspace(0, 1, 10))  # not integers
    np.savez(path("mismatched.npz"), x=x[:10], y=y[:9])

    with open(path("blobs.csv"), "w") as f:
        f.write("f0,f1,label,f2,f3,client\n")
        for row, label, owner in zip(x, y, client):
            f.write(f"{row[0]:.5f},{row[1]:.5f},{label},{row[2]:.5f},{row[3]:.5f},{owner}\n")
    with open(path("ragged.csv"), "w") as f:
        f.write("f0,f1,label\n1.0,2.0,0\n3.0,1\n")

    words = ["river", "stream", "delta", "flow", "bank", "water", "current", "source"]
    rng = np.random.default_rng(3)
    with open(path("documents.jsonl"), "w") as f:
        for d in range(12):
            text = " ".join(rng.choice(words, size=200))
            f.write(json.dumps({"text": text, "author": f"writer{d % 4}"}) + "\n")
    print("wrote the data fixtures")
