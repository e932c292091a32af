"""A Python client that trains with plain PyTorch on data it loads itself.

    PYTHONPATH=build/release/python /usr/bin/python3 examples/bring_your_own/torch_client.py \
        --server 127.0.0.1:7878 --client-id 3 --token-file runs/byo/token3 \
        --model runs/byo/fmnist_cnn.pt --data runs/byo/fmnist.npz --share 3/4 --insecure

Each round it receives the global model as a dict of tensors, loads it into the TorchScript
module, trains one epoch of SGD on its share of the examples (every 4th one from offset 3, for
--share 3/4), and returns the trained state; tributary.Client encodes the change with the run's
codecs and error feedback and uploads it.
"""
import argparse

import numpy as np
import torch

import tributary


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--client-id", type=int, required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--model", required=True, help="the run's model.path")
    parser.add_argument("--data", required=True, help="an .npz with x and y")
    parser.add_argument("--share", default="0/1", help="OFFSET/STRIDE of the examples to use")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--insecure", action="store_true")
    parser.add_argument("--tls-ca")
    args = parser.parse_args()

    offset, stride = (int(v) for v in args.share.split("/"))
    arrays = np.load(args.data)
    x = torch.from_numpy(arrays["x"][offset::stride]).unsqueeze(1)  # [N, 1, 28, 28]
    y = torch.from_numpy(arrays["y"][offset::stride].astype(np.int64))
    model = torch.jit.load(args.model)
    generator = torch.Generator().manual_seed(args.client_id)

    def train(state):
        model.load_state_dict(state, strict=False)  # the state holds the trained tensors
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
        order = torch.randperm(len(y), generator=generator)
        total, steps = 0.0, 0
        for start in range(0, len(y), args.batch_size):
            batch = order[start:start + args.batch_size]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
            steps += 1
        print(f"client {args.client_id}: trained {len(y)} examples, loss {total / len(y):.4f}",
              flush=True)
        return model.state_dict(), len(y), {"loss": total / len(y), "steps": steps}

    client = tributary.Client(args.server, args.client_id, token_file=args.token_file,
                              num_examples=len(y), insecure=args.insecure, tls_ca=args.tls_ca)
    client.run(train)


if __name__ == "__main__":
    main()
