"""A model's inputs as the PyTorch training loop holds them: one tensor, or for a model with several inputs one
Inputs value that indexes, slices and moves like a tensor (every input alike, the same samples), so the loop's
batching, splits and shuffles stay as they are; forward() then gets one tensor per input (`call`).
"""
import numpy as np
import torch


class Inputs:
    """Several input tensors with the same first (sample) axis; shape is the first input's."""

    def __init__(self, parts):
        self.parts = list(parts)

    def __getitem__(self, index):
        return Inputs(p[index] for p in self.parts)

    @property
    def shape(self):
        return self.parts[0].shape

    def long(self):
        return Inputs(p.long() for p in self.parts)


def load(files, device):
    """The .npy file of x (a path), or of each input in the model's order (a list of paths), on the device."""
    if isinstance(files, list):
        return Inputs(torch.from_numpy(np.load(f)).to(device) for f in files)
    return torch.from_numpy(np.load(files)).to(device)


def call(net, xb, *rest):
    """net's forward on a batch: one tensor per input for a model with several."""
    return net(*xb.parts, *rest) if isinstance(xb, Inputs) else net(xb, *rest)


def as_args(xb):
    """The positional arguments of forward for a batch (Normalization.adapt calls the model with them)."""
    return tuple(xb.parts) if isinstance(xb, Inputs) else (xb,)
