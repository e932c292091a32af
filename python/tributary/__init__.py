"""Tributary's Python client.

    import tributary

    def train(state):                      # dict: tensor name -> torch.Tensor (float32)
        ...                                # train your model from `state`
        return new_state, num_examples, {"loss": mean_loss}

    client = tributary.Client("server:7878", client_id=3, token_file="token",
                              data_config="client.toml", tls_ca="ca.pem")
    client.run(train)                      # until the server ends the run

The client registers with `tributary server` like `tributary client`, downloads the global model
each round it is selected, calls `train`, and uploads the change through the run's uplink codecs
with error feedback, exactly as the C++ client does. See docs/bring_your_own.md.

Built by `make` into build/release/python (put that folder on PYTHONPATH); it needs Debian's
python3-torch and runs on /usr/bin/python3.
"""
import json
import os

import numpy as np

from . import _tributary

try:
    import torch
except ImportError:  # the client still works on numpy arrays
    torch = None

__all__ = ["Client", "read_metrics"]


def _to_arrays(state):
    arrays = {}
    for name, value in state.items():
        if torch is not None and isinstance(value, torch.Tensor):
            value = value.detach().cpu().to(torch.float32).contiguous().numpy()
        arrays[name] = np.ascontiguousarray(value, dtype=np.float32)
    return arrays


def _to_tensors(arrays):
    if torch is None:
        return dict(arrays)
    return {name: torch.from_numpy(value) for name, value in arrays.items()}


class Client:
    """One client of a deployed run whose local training is a Python function.

    server: "host:port" of `tributary server`. client_id: this client's id (its token's).
    token / token_file: its bearer token (exactly one). data_config: a TOML with the client's
    [data] section, as `tributary client --data-config` takes (its partition's size is the
    example count registered; train_with_engine trains on it); or, instead, num_examples: the
    count registered when the data lives only in Python (then the run's model must be
    torchscript, whose shape does not depend on the data). insecure: plain text (loopback
    tests only); otherwise TLS, verified against tls_ca (system roots when None), with
    tls_cert and tls_key for mutual TLS and server_name when the certificate names another
    host, as `tributary client`'s --tls-* options. give_up_seconds: how long the client keeps
    reconnecting to an unreachable server.
    """

    def __init__(self, server, client_id, token=None, token_file=None, data_config=None,
                 num_examples=0, insecure=False, tls_ca=None, tls_cert=None, tls_key=None,
                 server_name=None, give_up_seconds=300.0):
        self._client = _tributary.Client(
            server, int(client_id), token or "", token_file or "", data_config or "",
            int(num_examples), bool(insecure), tls_ca or "", tls_cert or "", tls_key or "",
            server_name or "", float(give_up_seconds))

    def run(self, train):
        """Takes part in the run until the server ends it.

        train(state) -> (state, num_examples, metrics): `state` maps each tensor name of the
        model to a float32 torch.Tensor; return the trained state (keys the model lacks are
        ignored), the number of examples trained on (at most the registered count; it weighs
        the update) and a dict whose optional "loss", "steps" and "examples_processed" are
        reported to the server.
        """

        def call(arrays):
            new_state, num_examples, metrics = train(_to_tensors(arrays))
            return _to_arrays(new_state), int(num_examples), dict(metrics or {})

        self._client.run(call)

    def train_with_engine(self, state):
        """The engine's own local training of this round on the data_config partition, as a
        C++ client would run it; for use inside `train`. Returns (state, num_examples,
        metrics) like `train` does."""
        arrays, num_examples, metrics = self._client.train_with_engine(_to_arrays(state))
        return _to_tensors(arrays), num_examples, metrics


def read_metrics(run_dir):
    """The rows of RUN_DIR/metrics.jsonl (one dict per evaluated round), as written by
    `tributary simulate` and `tributary server`."""
    path = os.path.join(run_dir, "metrics.jsonl") if os.path.isdir(run_dir) else run_dir
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
