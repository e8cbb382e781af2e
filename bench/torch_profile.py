"""Where one training step of an exported PyTorch module goes, op by op, beside the hand-written module of
bench/torch_bench.py (torch.profiler: calls and self CPU time of each op, one step after two warm-up steps).
Call counts do not depend on the machine's load, so they show what the exported module does that the
hand-written one does not (copies around convolutions, extra pads, ...).

Usage: node dist/cli.js export examples/resnet-mini.json --plan all=rw+lr:r=16 --to pytorch -o /tmp/m.py
       python3 bench/torch_profile.py --model resnet-mini --variant rw+lr --generated /tmp/m.py [--rows 25]
"""
import argparse
import importlib.util
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import Mixer, ResNet18, ResNetMini, probabilities_loss  # noqa: E402

MODELS = {"resnet-mini": ResNetMini, "prenorm-mixer": Mixer, "resnet18": ResNet18}


def exported(path):
    """The generated module class of `path` (the one with KERAS_NAMES), built."""
    spec = importlib.util.spec_from_file_location("laurel_exported", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cls = [v for v in vars(mod).values() if isinstance(v, type) and issubclass(v, nn.Module) and hasattr(v, "KERAS_NAMES")]
    return cls[-1]()


def op_table(model, loss):
    """{op: (calls, self CPU us)} of one step (forward, backward) after two warm-up steps."""
    for _ in range(2):
        model.zero_grad(set_to_none=True)
        loss().backward()
    with torch.profiler.profile() as prof:
        model.zero_grad(set_to_none=True)
        loss().backward()
    return {e.key: (e.count, e.self_cpu_time_total) for e in prof.key_averages()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, choices=sorted(MODELS))
    ap.add_argument("--variant", default="plain")
    ap.add_argument("--generated", required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--rows", type=int, default=25)
    a = ap.parse_args()
    torch.set_num_threads(1)
    cls = MODELS[a.model]
    x = torch.randn(a.batch, *cls.input_shape)
    y = torch.randint(0, cls.classes, (a.batch,))
    x_file = x.movedim(1, -1).contiguous() if x.dim() == 4 else x
    onehot = F.one_hot(y, cls.classes).float()
    gen, hand = exported(a.generated), cls(a.variant, a.rank)
    g = op_table(gen, lambda: probabilities_loss(gen(x_file), onehot))
    h = op_table(hand, lambda: F.cross_entropy(hand(x), y))
    ops = sorted(set(g) | set(h), key=lambda k: -(g.get(k, (0, 0))[1] + h.get(k, (0, 0))[1]))
    print("%-52s %8s %8s %11s %11s" % ("op", "calls", "hand", "self us", "hand us"))
    for k in ops[: a.rows]:
        (gc, gt), (hc, ht) = g.get(k, (0, 0)), h.get(k, (0, 0))
        print("%-52s %8d %8d %11d %11d" % (k[:52], gc, hc, gt, ht))
    print("ops called a different number of times: %s" % ", ".join("%s %d/%d" % (k, g.get(k, (0, 0))[0], h.get(k, (0, 0))[0]) for k in ops if g.get(k, (0, 0))[0] != h.get(k, (0, 0))[0] and k.startswith("aten::")))


if __name__ == "__main__":
    main()
