"""PyTorch (CPU) side of `npm run bench`: the same models as examples/resnet-mini.json, examples/prenorm-mixer.json
and the ResNet-18 fixture (keras-resnet18-custom-doubleencoded.json), written by hand, with the same LAuReL variants, trained for a fixed number
of steps on random data. Prints one JSON object per run on stdout.

Usage: python3 bench/torch_bench.py --model resnet-mini|prenorm-mixer|resnet18 --variants plain,rw,lr,rw+lr
           --steps 30 --batch 32 --rank 16 --threads 1 [--generated DIR --generated-class NAME]

With --generated, the modules this project exports for the same model (DIR/<variant>.py, written by
`npm run bench`) train in the same rounds as the hand-written ones: each result says which ("impl").
"""
import argparse
import importlib.util
import json
import math
import os
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# PA's k: x_i and at most k - 1 earlier shortcuts of the same shape (LAuReL Studio's default).
PA_K = 3


class Laurel(nn.Module):
    """x_{i+1} = α f(x) + β (x + B A x) on the channel (last or NCHW channel) axis; B starts at zero. PA (identity h):
    f(x) + x + Σ_j γ_j x_{i-j}, j = 0 .. terms - 1 (x_i itself, then the earlier shortcuts given), γ starting at 1."""

    def __init__(self, variant, width, rank, channels_axis, terms=1):
        super().__init__()
        self.variant = variant
        self.axis = channels_axis
        self.terms = terms
        if variant.startswith("rw"):
            self.rw = nn.Parameter(torch.zeros(2))
        if "lr" in variant:
            self.down = nn.Parameter(torch.empty(width, rank))
            nn.init.xavier_uniform_(self.down)
            self.up = nn.Parameter(torch.zeros(rank, width))
        if variant == "pa":
            self.gamma = nn.Parameter(torch.ones(terms))

    def forward(self, fx, x, earlier=()):
        if self.variant == "plain":
            return fx + x
        short = x
        if self.variant == "pa":
            return fx + x + sum(g * h for g, h in zip(self.gamma, [x, *earlier]))
        if "lr" in self.variant:
            if self.axis == 1:
                # NCHW: the low-rank pair mixes channels only, i.e. two bias-free 1x1 convolutions.
                h = F.conv2d(x, self.down.t()[:, :, None, None])
                short = x + F.conv2d(h, self.up.t()[:, :, None, None])
            else:
                short = x + (x @ self.down) @ self.up
        if self.variant.startswith("rw"):
            a, b = torch.softmax(self.rw, 0)
            return a * fx + b * short
        return fx + short


def pa_terms(shapes):
    """PA's terms at each site from the sites' shortcut shapes in order: x_i and the earlier ones of its shape, at most k."""
    return [min(PA_K, 1 + shapes[:i].count(s)) for i, s in enumerate(shapes)]


def merge_in_history(merge, f, s, history):
    """The block's merge; PA reads the shortcuts of the earlier sites of s's shape (closest first), and s is recorded."""
    same = history.setdefault(tuple(s.shape), [])
    out = merge(f, s, same[::-1][: merge.terms - 1])
    same.append(s)
    return out


def block_terms(stages):
    """PA terms of conv blocks [(cout, stride)]: a shortcut's shape is its channels and the stride so far."""
    shapes, scale = [], 1
    for cout, stride in stages:
        scale *= stride
        shapes.append((cout, scale))
    return pa_terms(shapes)


class Block(nn.Module):
    def __init__(self, cin, cout, stride, variant, rank, terms=1):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01))
        self.merge = Laurel(variant, cout, rank, 1, terms)

    def forward(self, x, history):
        f = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        s = self.proj(x) if self.proj is not None else x
        return F.relu(merge_in_history(self.merge, f, s, history))


class ResNetMini(nn.Module):
    """examples/resnet-mini.json: 28x28x1 input, a 16-channel stem, 4 basic blocks (16, 16, 32/2, 32)."""

    input_shape = (1, 28, 28)
    classes = 10

    def __init__(self, variant, rank):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16, eps=1e-3, momentum=0.01), nn.ReLU())
        stages = [(16, 1), (16, 1), (32, 2), (32, 1)]
        cins = [16, 16, 16, 32]
        self.blocks = nn.ModuleList(Block(cin, cout, stride, variant, rank, t) for cin, (cout, stride), t in zip(cins, stages, block_terms(stages)))
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x, history = self.stem(x), {}
        for b in self.blocks:
            x = b(x, history)
        return self.fc(x.mean((2, 3)))


class BasicBlock(nn.Module):
    """One block of the fixture: conv-bn-relu-conv-bn-relu, then merge with the shortcut (a 1x1 stride-2 conv + bn
    when the block downsamples), then relu. Convs have biases as in the Keras file."""

    def __init__(self, cin, cout, stride, variant, rank, terms=1):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1)
        self.b1 = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.b2 = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride), nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01))
        self.merge = Laurel(variant, cout, rank, 1, terms)

    def forward(self, x, history):
        f = F.relu(self.b2(self.c2(F.relu(self.b1(self.c1(x))))))
        s = self.proj(x) if self.proj is not None else x
        return F.relu(merge_in_history(self.merge, f, s, history))


class ResNet18(nn.Module):
    """keras-resnet18-custom-doubleencoded.json by hand: 96x96x3, x/255, 7x7/2 conv (valid), 3x3/2 max pool (valid),
    2 blocks each of 64, 128/2, 256/2, 512/2, global average pool, dense 8 (softmax in the loss)."""

    input_shape = (3, 96, 96)
    classes = 8

    def __init__(self, variant, rank, classes=8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2), nn.BatchNorm2d(64, eps=1e-3, momentum=0.01), nn.ReLU(), nn.MaxPool2d(3, 2))
        stages = [(64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1)]
        blocks, cin = [], 64
        for (cout, stride), t in zip(stages, block_terms(stages)):
            blocks.append(BasicBlock(cin, cout, stride, variant, rank, t))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x, history = self.stem(x * (1.0 / 255)), {}
        for b in self.blocks:
            x = b(x, history)
        return self.fc(x.mean((2, 3)))


class Mixer(nn.Module):
    """examples/prenorm-mixer.json: 16 tokens x 8 features, D=64, 4 pre-norm blocks of token and channel MLPs."""

    input_shape = (16, 8)
    classes = 10

    def __init__(self, variant, rank, T=16, D=64, blocks=4):
        super().__init__()
        self.embed = nn.Linear(8, D)
        self.blocks = nn.ModuleList()
        terms = pa_terms([D] * (2 * blocks))
        for i in range(blocks):
            self.blocks.append(nn.ModuleDict({
                "ln1": nn.LayerNorm(D, eps=1e-6), "tok1": nn.Linear(T, 2 * T), "tok2": nn.Linear(2 * T, T),
                "ln2": nn.LayerNorm(D, eps=1e-6), "mlp1": nn.Linear(D, 4 * D), "mlp2": nn.Linear(4 * D, D),
                "m1": Laurel(variant, D, rank, -1, terms[2 * i]), "m2": Laurel(variant, D, rank, -1, terms[2 * i + 1]),
            }))
        self.ln = nn.LayerNorm(D, eps=1e-6)
        self.fc = nn.Linear(D, 10)

    def forward(self, x):
        x, history = self.embed(x), {}
        for b in self.blocks:
            t = b["tok2"](F.gelu(b["tok1"](b["ln1"](x).transpose(1, 2)))).transpose(1, 2)
            x = merge_in_history(b["m1"], t, x, history)
            x = merge_in_history(b["m2"], b["mlp2"](F.gelu(b["mlp1"](b["ln2"](x)))), x, history)
        return self.fc(self.ln(x).mean(1))


def generated_module(directory, variant, class_name):
    """The exported module of one variant: DIR/<variant>.py, class `class_name`."""
    path = os.path.join(directory, variant.replace("+", "_") + ".py")
    spec = importlib.util.spec_from_file_location("laurel_generated_" + variant.replace("+", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, class_name)()


def probabilities_loss(p, onehot, eps=1e-7):
    """The PyTorch engine's categorical cross-entropy on a softmax output (src/python/laurel_train_loss.py)."""
    p = p / p.sum(-1, keepdim=True)
    return -(onehot * torch.log(p.clamp(eps, 1 - eps))).sum(-1).mean()


def run(model_name, variants, steps, batch, rank, warmup=3, generated=None, generated_class=None):
    """Every variant trained in turns (ABCD ABCD ..., the first of each round rotating), so that a change
    of load reaches all alike. peakRssMb is the process's peak: only meaningful with one variant a process.
    With `generated`, each variant's exported module takes its turn in the same rounds: the hand-written
    module reads NCHW and returns logits (cross-entropy), the exported one reads the file's NHWC and returns
    its softmax (the engine's loss on probabilities)."""
    cls = {"resnet-mini": ResNetMini, "prenorm-mixer": Mixer, "resnet18": ResNet18}[model_name]
    runs = []
    x = torch.randn(batch, *cls.input_shape)
    y = torch.randint(0, cls.classes, (batch,))
    x_file = x.movedim(1, -1).contiguous() if x.dim() == 4 else x
    onehot = F.one_hot(y, cls.classes).float()
    for v in variants:
        torch.manual_seed(0)
        model = cls(v, rank)
        runs.append({"variant": v, "impl": "hand", "model": model, "opt": torch.optim.Adam(model.parameters(), 1e-3), "times": [], "cpu": [],
                     "loss_fn": lambda m: F.cross_entropy(m(x), y)})
        if generated:
            torch.manual_seed(0)
            model = generated_module(generated, v, generated_class)
            runs.append({"variant": v, "impl": "generated", "model": model, "opt": torch.optim.Adam(model.parameters(), 1e-3), "times": [], "cpu": [],
                         "loss_fn": lambda m: probabilities_loss(m(x_file), onehot)})
    for i in range(warmup + steps):
        for k in range(len(runs)):
            r = runs[(i + k) % len(runs)]
            t0, c0 = time.perf_counter(), time.thread_time()
            r["opt"].zero_grad(set_to_none=True)
            loss = r["loss_fn"](r["model"])
            loss.backward()
            r["opt"].step()
            if i >= warmup:
                r["times"].append(time.perf_counter() - t0)
                r["cpu"].append(time.thread_time() - c0)
            r["loss"] = float(loss)
    for r in runs:
        times = sorted(r["times"])
        step = times[len(times) // 2]
        yield {
            "engine": "pytorch-cpu", "impl": r["impl"], "torch": torch.__version__, "threads": torch.get_num_threads(), "model": model_name,
            "variant": r["variant"], "params": sum(p.numel() for p in r["model"].parameters()), "stepMs": step * 1000,
            "stepMinMs": times[0] * 1000, "samplesPerSec": batch / step,
            # Round by round (every run takes one step a round), for ratios of steps taken next to each other; and the
            # CPU time of this thread (one torch thread: forward, backward and the optimiser run on it), which counts
            # the step's work but not the time other processes held the core.
            "roundsMs": [t * 1000 for t in r["times"]],
            "cpuRoundsMs": [t * 1000 for t in r["cpu"]],
            "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "finalLoss": r["loss"], "finite": math.isfinite(r["loss"]),
        }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--variants", default="plain")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--generated", default=None)
    ap.add_argument("--generated-class", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for result in run(a.model, a.variants.split(","), a.steps, a.batch, a.rank, generated=a.generated, generated_class=a.generated_class):
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
