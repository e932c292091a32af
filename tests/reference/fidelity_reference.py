#!/usr/bin/env python3
"""Reference values for the fidelity suite (src/aggregate/strategy_fidelity_test.cc and
src/compress/codec_fidelity_test.cc), computed in float64 straight from the papers' update rules,
independently of Tributary's code. Run: /usr/bin/python3 tests/reference/fidelity_reference.py;
its output is kept next to it in fidelity_reference.txt and the tests embed those numbers.
"""
import numpy as np

np.set_printoptions(precision=9, floatmode="maxprec")


def show(name, values):
    print(f"{name}: " + ", ".join(f"{float(v):.9g}" for v in np.ravel(values)))


# ---- Strategies: 3 rounds, 3 clients, a 3-coordinate model ----
X0 = np.array([0.5, -1.0, 2.0])
DELTAS = [  # round -> client -> delta (trained model minus the round's global model)
    np.array([[0.2, -0.1, 0.05], [0.4, 0.3, -0.2], [-0.1, 0.2, 0.1]]),
    np.array([[0.1, 0.1, 0.0], [0.3, -0.2, 0.1], [0.05, 0.05, -0.3]]),
    np.array([[-0.2, 0.0, 0.2], [0.1, 0.1, 0.1], [0.0, -0.4, 0.05]]),
]
EXAMPLES = np.array([10.0, 30.0, 60.0])


def weighted_mean(deltas, weights):
    return (weights[:, None] * deltas).sum(0) / weights.sum()


def fedavg(weights):
    # McMahan et al. 2017: x <- sum_k n_k / n * x_k, i.e. x + weighted mean delta.
    x = X0.copy()
    for d in DELTAS:
        x = x + weighted_mean(d, weights)
    return x


def fedavgm(lr, beta):
    # Hsu et al. 2019: v <- beta v + mean delta; x <- x + lr v.
    x, v = X0.copy(), np.zeros(3)
    for d in DELTAS:
        v = beta * v + weighted_mean(d, EXAMPLES)
        x = x + lr * v
    return x


def fedopt(kind, lr, b1, b2, tau, bias_correction=False):
    # Reddi et al. 2021, Algorithm 2 (uniform mean of the deltas), m_0 = 0, v_0 = tau^2.
    # With bias_correction: Adam as Kingma and Ba (v_0 = 0, moments divided by 1 - beta^t).
    x, m = X0.copy(), np.zeros(3)
    v = np.zeros(3) if bias_correction else np.full(3, tau * tau)
    for t, d in enumerate(DELTAS, start=1):
        g = d.mean(0)
        m = b1 * m + (1 - b1) * g
        if kind == "adagrad":
            v = v + g * g
        elif kind == "adam":
            v = b2 * v + (1 - b2) * g * g
        else:  # yogi
            v = v - (1 - b2) * g * g * np.sign(v - g * g)
        if bias_correction:
            x = x + lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + tau)
        else:
            x = x + lr * m / (np.sqrt(v) + tau)
    return x


def diloco(lr, mu):
    # Douillard et al. 2023: outer gradient = -(uniform mean delta), Nesterov momentum
    # (PyTorch's SGD form: b <- mu b + g; x <- x - lr (g + mu b)).
    x, b = X0.copy(), np.zeros(3)
    for d in DELTAS:
        g = -d.mean(0)
        b = mu * b + g
        x = x - lr * (g + mu * b)
    return x


show("fedavg examples", fedavg(EXAMPLES))
show("fedavg uniform", fedavg(np.ones(3)))
show("fedavgm lr=0.5 beta=0.9", fedavgm(0.5, 0.9))
for kind in ("adagrad", "adam", "yogi"):
    show(f"fed{kind} lr=0.1 b1=0.9 b2=0.99 tau=1e-3", fedopt(kind, 0.1, 0.9, 0.99, 1e-3))
show("fedadam bias-corrected lr=0.1 b1=0.9 b2=0.99 tau=1e-3",
     fedopt("adam", 0.1, 0.9, 0.99, 1e-3, bias_correction=True))
show("diloco lr=0.7 mu=0.9", diloco(0.7, 0.9))

# Robust rules on one round of five 2-coordinate updates, the last an outlier.
U = np.array([[1.0, 2.0], [1.5, 1.0], [0.5, 1.5], [1.2, 2.5], [40.0, -30.0]])
show("median (5 updates)", np.median(U, 0))
show("median (first 4 updates)", np.median(U[:4], 0))  # even count: mean of the two middle
# Yin et al. 2018: drop floor(beta n) largest and smallest per coordinate, average the rest.
s = np.sort(U, 0)
cut = int(np.floor(0.2 * 5))
show("trimmed mean beta=0.2", s[cut:5 - cut].mean(0))
# Blanchard et al. 2017: score_i = sum of squared distances to its n - f - 2 nearest others.
f = 1
dist = ((U[:, None, :] - U[None, :, :]) ** 2).sum(-1)
scores = [np.sort(np.delete(dist[i], i))[: 5 - f - 2].sum() for i in range(5)]
show("krum scores f=1", scores)
show("krum f=1", U[int(np.argmin(scores))])
order = np.argsort(scores, kind="stable")
show("multi-krum f=1 m=3", U[order[:3]].mean(0))
# Sun et al. 2019: clip each update to norm M, then the example-weighted mean.
W = np.array([1.0, 1.0, 1.0, 1.0, 1.0])
norms = np.linalg.norm(U, axis=1)
clipped = U * np.minimum(1.0, 2.0 / norms)[:, None]
show("norm bounding M=2", weighted_mean(clipped, W))

# ---- Codecs ----
XQ = np.array([0.3, -1.2, 0.05, 0.8, -0.02, 0.6, -0.6, 2.4,
               0.01, 0.25, -0.33, 0.0, 1.7, -0.9, 0.45, -0.07])


def qsgd_moments(x, bits, bucket, contract=False):
    # Alistarh et al. 2017: level l = floor(a) + Bernoulli(frac a), a = |x| / norm * s; the value
    # sign(x) * norm * l / s has mean x and variance (norm / s)^2 p (1 - p), p = frac(a).
    s = 2 ** (bits - 1) - 1
    norms, var = [], np.zeros_like(x)
    for b in range(0, len(x), bucket):
        part = x[b:b + bucket]
        norm = np.linalg.norm(part)
        a = np.abs(part) / norm * s
        p = a - np.floor(a)
        var[b:b + bucket] = (norm / s) ** 2 * p * (1 - p)
        omega = var[b:b + bucket].sum() / (part ** 2).sum()
        norms.append(norm / (1 + omega) if contract else norm)
    return np.array(norms), var


n, v = qsgd_moments(XQ, 3, 8)
show("qsgd bits=3 bucket=8 norms", n)
show("qsgd bits=3 bucket=8 variance", v)
print(f"qsgd bits=3 bucket=8 variance/|x|^2: {v.sum() / (XQ ** 2).sum():.9g}")
n, _ = qsgd_moments(XQ, 3, 8, contract=True)
show("qsgd bits=3 bucket=8 norms, error feedback (norm / (1 + w))", n)

# TernGrad (Wen et al. 2017) on a two-tensor layout [10, 3]: clip to c sigma (sigma about the
# mean), s = max |clipped|, keep sign(c) s with probability |c| / s: mean c, variance s |c| - c^2.
# (A value can pass 2.5 sigma only in a tensor of 9 or more values.)
XT = np.array([0.1, -0.2, 0.15, 3.0, -0.05, 0.12, -0.08, 0.02, 0.05, -0.1, 0.4, -0.1, 0.2])
for begin, end in ((0, 10), (10, 13)):
    part = XT[begin:end]
    limit = 2.5 * part.std()
    c = np.clip(part, -limit, limit)
    scale = np.abs(c).max()
    show(f"terngrad tensor [{begin},{end}) clip limit, scale", [limit, scale])
    show(f"terngrad tensor [{begin},{end}) mean", c)
    show(f"terngrad tensor [{begin},{end}) variance", scale * np.abs(c) - c * c)

# Scaled sign (Karimireddy et al. 2019): mean |x| * sign(x).
show("sign", np.abs(XQ).mean() * np.sign(XQ))
# fp16: IEEE half, round to nearest even; bf16: the top 16 bits of the float32, rounded to
# nearest even.
H = np.array([0.1, 1.0 / 3.0, 65504.0, 1e-8, -2.71828], dtype=np.float32)
show("fp16", H.astype(np.float16).astype(np.float32))
bits = H.view(np.uint32).astype(np.uint64)
rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
show("bf16", rounded.astype(np.uint32).view(np.float32))
