"""Writes the TorchScript fixtures the tests load (committed next to this script).

Run with Debian's python3-torch: /usr/bin/python3 testdata/make_torchscript_fixtures.py
Each module is small, float32, and built right after seeding, so rerunning gives the same values.
"""
import os

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


class MlpWithBatchNorm(nn.Module):
    """28x28 images -> 10 classes, with batch-norm statistics as buffers."""

    def __init__(self, inputs: int = 784):
        super().__init__()
        self.fc1 = nn.Linear(inputs, 32)
        self.bn = nn.BatchNorm1d(32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.bn(self.fc1(x.flatten(1)))))


class MlpWithOwnLoss(nn.Module):
    """The same classifier without batch norm, with its own loss: cross-entropy plus an L2
    penalty on the output layer."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))

    @torch.jit.export
    def loss(self, x, y):
        return nn.functional.cross_entropy(self.forward(x), y) + self.fc2.weight.pow(2).sum()


class NoForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    @torch.jit.export
    def predict(self, x):
        return self.fc(x.flatten(1))


def save(make, name: str) -> None:
    torch.manual_seed(1)
    torch.jit.script(make()).save(os.path.join(HERE, name))
    print("wrote", name)


if __name__ == "__main__":
    save(MlpWithBatchNorm, "mlp_batchnorm.pt")
    save(MlpWithOwnLoss, "mlp_own_loss.pt")
    save(lambda: MlpWithBatchNorm(inputs=100), "mlp_wrong_inputs.pt")
    save(NoForward, "no_forward.pt")
