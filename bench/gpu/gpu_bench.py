"""GPU check of the PyTorch engine's generated modules (bench/gpu/run.sh runs it; prepare.sh makes the modules).

For each model (the ResNet-18 fixture at 96x96x3, examples/prenorm-mixer.json) and each variant (plain, RW+LR r=16)
it trains, for a fixed number of steps on random data:
  - the module LAuReL Studio generates (bench/gpu/generated/*.py, channels-last as TF.js feeds it), and
  - the same model written by hand in plain PyTorch (NCHW; bench/torch_bench.py's mixer, ResNet18 below),
with the engine's settings: Adam, bf16 autocast where the card supports it, torch.compile where it exists (eager
when it fails). It records samples/s, ms/step, peak GPU memory, each variant's step time over plain, and the
generated module's step time over the hand-written one, and writes one JSON file.

Usage: python3 bench/gpu/gpu_bench.py [--steps 200] [--warmup 20] [--models resnet18,mixer] [--device auto|cpu]
           [--compile auto|on|off] [--out DIR]
"""
import argparse
import importlib.util
import json
import math
import os
import platform
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from torch_bench import Mixer, ResNet18  # noqa: E402  (bench/torch_bench.py: the hand-written mixer and ResNet-18)


# model -> (generated file stem, hand-written class, NHWC input of the generated module, classes, batch)
MODELS = {
    "resnet18": ("resnet18", ResNet18, (96, 96, 3), 8, 64),
    "mixer": ("mixer", Mixer, (16, 8), 10, 256),
}
VARIANTS = [("plain", "plain", "plain"), ("rw+lr:r=16", "rw_lr_r16", "rw+lr")]  # (label, file suffix, torch_bench variant)


def load_generated(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3].replace("-", "_"), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cls = [v for v in vars(mod).values() if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == mod.__name__ and hasattr(v, "KERAS_NAMES")]
    return cls[-1]


def count(model):
    return sum(p.numel() for p in model.parameters())


def bench_one(make, x, y, probs, device, steps, warmup, compile_mode, bf16):
    """Trains make() for warmup + steps steps; times the last `steps` (one synchronize around them)."""
    torch.manual_seed(0)
    model = make().to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    fwd, compiled, note = model, False, None
    if compile_mode == "on" or (compile_mode == "auto" and device.type == "cuda"):
        if hasattr(torch, "compile"):
            fwd, compiled = torch.compile(model), True
        else:
            note = "torch %s has no torch.compile" % torch.__version__

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            out = fwd(x)
        out = out.float()
        # The generated modules end in softmax (as the Keras files do); the hand-written ones give logits.
        loss = F.nll_loss(torch.log(out.clamp(1e-7, 1 - 1e-7)), y) if probs else F.cross_entropy(out, y)
        loss.backward()
        opt.step()
        return loss

    t_first = time.perf_counter()
    try:
        loss = step()
    except Exception as e:  # torch.compile failed: eager, as the engine does
        if not compiled:
            raise
        note = "torch.compile failed, eager: %s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        fwd, compiled = model, False
        loss = step()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    first_ms = (time.perf_counter() - t_first) * 1000
    for _ in range(max(warmup - 1, 0)):
        loss = step()
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    sync()
    ms = (time.perf_counter() - t0) * 1000 / steps
    final = float(loss)
    peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    del model, opt, fwd
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return {
        "params": None, "stepMs": ms, "samplesPerSec": x.shape[0] / ms * 1000, "peakBytes": peak,
        "peakMemory": "cuda-max-allocated" if device.type == "cuda" else "peak-rss (process, cumulative)",
        "firstStepMs": first_ms, "compiled": compiled, "compileNote": note, "finalLoss": final, "finite": math.isfinite(final),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--models", default="resnet18,mixer")
    ap.add_argument("--batch", type=int, default=0, help="override every model's batch size")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu"])
    ap.add_argument("--compile", default="auto", choices=["auto", "on", "off"])
    ap.add_argument("--generated", default=os.path.join(HERE, "generated"))
    ap.add_argument("--out", default=os.environ.get("OUT") or "bench-results")
    a = ap.parse_args()

    cuda = torch.cuda.is_available() and a.device == "auto"
    device = torch.device("cuda" if cuda else "cpu")
    bf16 = bool(cuda and torch.cuda.is_bf16_supported())
    if cuda:
        torch.backends.cudnn.benchmark = True
    info = {
        "kind": "laurel-gpu-bench", "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "torch": torch.__version__, "python": sys.version.split()[0],
        "device": torch.cuda.get_device_name(0) if cuda else "cpu (%s, %d threads)" % (platform.processor() or platform.machine(), torch.get_num_threads()),
        "cuda": torch.version.cuda if cuda else None, "precision": "bf16-autocast" if bf16 else "float32",
        "steps": a.steps, "warmup": a.warmup, "compile": a.compile,
    }
    print(json.dumps(info), flush=True)
    results = []
    for name in a.models.split(","):
        stem, Hand, nhwc, classes, batch = MODELS[name]
        batch = a.batch or batch
        g = torch.Generator().manual_seed(0)
        x_nhwc = torch.rand((batch,) + nhwc, generator=g) * (255.0 if name == "resnet18" else 1.0)
        x_hand = x_nhwc.permute(0, 3, 1, 2).contiguous() if len(nhwc) == 3 else x_nhwc
        y = torch.randint(0, classes, (batch,), generator=g)
        x_nhwc, x_hand, y = x_nhwc.to(device), x_hand.to(device), y.to(device)
        for label, suffix, hand_variant in VARIANTS:
            path = os.path.join(a.generated, "%s-%s.py" % (stem, suffix))
            Gen = load_generated(path)
            for impl, make, x, probs in [("generated", Gen, x_nhwc, True), ("hand-written", lambda: Hand(hand_variant, 16), x_hand, False)]:
                r = bench_one(make, x, y, probs, device, a.steps, a.warmup, a.compile, bf16)
                torch.manual_seed(0)
                r["params"] = count(make())
                r.update({"model": name, "variant": label, "impl": impl, "batch": batch, "file": os.path.relpath(path) if impl == "generated" else "bench/gpu/gpu_bench.py"})
                results.append(r)
                print(json.dumps(r), flush=True)

    def find(model, variant, impl):
        return next((r for r in results if r["model"] == model and r["variant"] == variant and r["impl"] == impl), None)

    # Ratios: each variant's step time over plain (same implementation), and generated over hand-written.
    for r in results:
        plain = find(r["model"], "plain", r["impl"])
        hand = find(r["model"], r["variant"], "hand-written")
        r["stepVsPlain"] = r["stepMs"] / plain["stepMs"] if plain else None
        r["memVsPlain"] = r["peakBytes"] / plain["peakBytes"] if plain and plain["peakBytes"] else None
        r["stepVsHandWritten"] = r["stepMs"] / hand["stepMs"] if hand else None
    info["results"] = results
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "gpu-bench.json" if cuda else "gpu-bench-cpu.json")
    with open(path, "w") as f:
        json.dump(info, f, indent=2)
    print("\n%-9s %-11s %-13s %10s %9s %11s %9s %9s %10s %s" % ("model", "variant", "impl", "samples/s", "ms/step", "peak MiB", "x plain", "x hand", "compiled", "loss"))
    for r in results:
        print("%-9s %-11s %-13s %10.1f %9.2f %11.1f %9.3f %9.3f %10s %.4f" % (r["model"], r["variant"], r["impl"], r["samplesPerSec"], r["stepMs"], r["peakBytes"] / 2 ** 20,
                                                                     r["stepVsPlain"], r["stepVsHandWritten"], r["compiled"], r["finalLoss"]))
    print("\n%s" % path)
    if not all(r["finite"] for r in results):
        sys.exit("a loss was not finite")


if __name__ == "__main__":
    main()
