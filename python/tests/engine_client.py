"""A Python client whose train function hands the round's state to the engine's own training.

    PYTHONPATH=build/release/python /usr/bin/python3 python/tests/engine_client.py \
        HOST:PORT CLIENT_ID TOKEN DATA_CONFIG

Used by DeployLoopbackTest.PythonClientAmongFourMatchesSimulation: the run must then equal
`tributary simulate` exactly. Prints one line starting with '@' per round it trains.
"""
import sys

import torch

import tributary


def main():
    server, client_id, token, data_config = sys.argv[1:5]
    client = tributary.Client(server, int(client_id), token=token, data_config=data_config,
                              insecure=True)

    def train(state):
        assert all(isinstance(v, torch.Tensor) and v.dtype == torch.float32
                   for v in state.values()), "the state should be float32 tensors"
        new_state, num_examples, metrics = client.train_with_engine(state)
        print(f"@ trained {num_examples} examples, loss {metrics['loss']:.4f}", flush=True)
        return new_state, num_examples, metrics

    client.run(train)


if __name__ == "__main__":
    main()
