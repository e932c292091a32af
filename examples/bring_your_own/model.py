"""A model written in PyTorch, scripted and saved for Tributary (model.name = "torchscript").

    /usr/bin/python3 examples/bring_your_own/model.py fmnist_cnn.pt

The CNN of the FedAvg paper, as Tributary's built-in `cnn` (same layers and names, so the two
have the same tensors): conv5x5(1->32), max-pool, conv5x5(32->64), max-pool, fc(1024->128),
fc(128->10). Any nn.Module that torch.jit.script accepts works the same way; define
`loss(self, inputs, targets)` (decorated with @torch.jit.export) to train with your own loss.
"""
import sys

import torch
from torch import nn


class FashionCnn(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5)
        self.conv2 = nn.Conv2d(32, 64, 5)
        self.fc1 = nn.Linear(64 * 4 * 4, 128)
        self.fc2 = nn.Linear(128, classes)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


if __name__ == "__main__":
    torch.manual_seed(0)
    path = sys.argv[1] if len(sys.argv) > 1 else "fmnist_cnn.pt"
    torch.jit.script(FashionCnn()).save(path)
    print(f"wrote {path}")
