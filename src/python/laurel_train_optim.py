"""The PyTorch training loop's optimiser (laurel_train.py): TF.js's defaults for adam, rmsprop and sgd; AdamW with
src/trainer/optimizerOptions.ts's two parameter groups; its learning-rate schedule (the TF.js engine's
ResearchOptimizer does the same, tested against this file).
"""
import math

import torch

_LAUREL_SCALARS = ("rw_logits", "rw_theta", "pa_gamma")


def decay_kind(module_class, name):
    """src/trainer/optimizerOptions.ts's decayKind: 'norm', 'bias', 'laurel' or None (decayed)."""
    if "norm" in module_class.lower() or name == "gemma_norm_scale":
        return "norm"
    if name == "bias" or name.endswith("_bias"):
        return "bias"
    if name in _LAUREL_SCALARS:
        return "laurel"
    return None


def param_groups(model, cfg):
    """AdamW's two groups: decayed weights, and the kinds cfg["noDecay"] leaves alone (default all three)."""
    skip = set(cfg.get("noDecay", ["bias", "norm", "laurel"]))
    decay, keep, seen = [], [], set()
    for mod in model.modules():
        for name, p in mod.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            kind = decay_kind(type(mod).__name__, name)
            (keep if kind is not None and kind in skip else decay).append(p)
    wd = float(cfg.get("weightDecay", 0.01))
    return [{"params": decay, "weight_decay": wd}, {"params": keep, "weight_decay": 0.0}]


def lr_at(cfg, step, total):
    """src/trainer/optimizerOptions.ts's lrAt: constant, or linear warm-up then half a cosine to 0."""
    lr = float(cfg["learningRate"])
    if cfg.get("lrSchedule", "constant") == "constant":
        return lr
    w = min(int(cfg.get("warmupSteps", 0)), total)
    if step < w:
        return lr * (step + 1) / w
    span = max(1, total - w)
    return lr * 0.5 * (1 + math.cos(math.pi * min(step - w, span) / span))


def make_optimizer(name, params, lr, cfg=None, model=None):
    # TF.js defaults: adam (0.9, 0.999, eps 1e-7), rmsprop (decay 0.9, eps 1e-7), plain sgd.
    if name == "adamw":
        # torch's AdamW decays p by lr * wd before the Adam step, as the TF.js engine's ResearchOptimizer does.
        return torch.optim.AdamW(param_groups(model, cfg or {}), lr=lr, betas=(0.9, 0.999), eps=1e-7)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-7)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    raise ValueError("unknown optimizer %r" % name)
