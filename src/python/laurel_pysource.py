"""A user's PyTorch source as the module laurel_train.py trains (`laurel train model.py`).

The engine writes the variant's source (the file as `laurel apply` would rewrite it, never the user's file) into
the run folder's src/ with laurel_residual.py beside it, and this file as laurel_model.py. The loop calls
build() after torch.manual_seed(seed): every variant builds its modules in the same order from the same
generator, and LaurelResidual takes its D-sized weights at the first call, so the modules a plan does not touch
start from the same weights in every variant. Paths and expressions come from the run's config.json
(sys.argv[1]), never from generated code.
"""
import json
import sys

import torch
from laurel_import import run_module

with open(sys.argv[1]) as _f:
    _SRC = json.load(_f)["pySource"]


def _load():
    # The variant's folder first (its laurel_residual.py), then the user's folder and, inside a package, its
    # root (the file's own imports, relative ones too).
    path = _SRC["file"]
    with open(path, encoding="utf-8") as f:
        return run_module(path, f.read(), _SRC["userDir"])[0]


def build():
    scope = dict(vars(_load()))
    scope.setdefault("torch", torch)
    model = eval(compile(_SRC["model"], "<laurel model>", "eval"), scope)
    if not isinstance(model, torch.nn.Module):
        raise TypeError("model = %s is a %s, not a torch.nn.Module" % (_SRC["model"], type(model).__name__))
    return model


def adapt_normalization(model, batches):
    return []  # Keras's Normalization.adapt has no counterpart in a PyTorch source


def count_weights(model):
    """Parameters (a tied weight once: parameters() yields it once), as the tracer counts them."""
    return sum(p.numel() for p in model.parameters())
