"""What the PyTorch training loop (laurel_train.py) minimises and measures: the TF.js engine's losses and accuracies
by name, a model's own loss (a forward that takes the targets and returns (logits, loss)), and the divergence rule.
"""
import inspect

import torch


def loss_fn(name):
    eps = 1e-7  # tf.backend().epsilon(): TF.js clips probabilities by it
    if name == "categoricalCrossentropy":
        def f(p, y):
            p = p / p.sum(-1, keepdim=True)
            return -(y * torch.log(p.clamp(eps, 1 - eps))).sum(-1).mean()
        return f
    if name == "binaryCrossentropy":
        def f(p, y):
            p = p.clamp(eps, 1 - eps)
            return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
        return f
    if name == "softmaxCrossEntropyFromLogits":
        return lambda z, y: -(y * torch.log_softmax(z, -1)).sum(-1).mean()
    if name == "tokenCrossEntropy":
        # Per-token logits (N, T, V) against next-token ids (N, T): a language model's loss.
        return lambda z, y: torch.nn.functional.cross_entropy(z.reshape(-1, z.shape[-1]), y.reshape(-1))
    return lambda p, y: (p - y).square().mean()


def acc_fn(name):
    if name == "binaryCrossentropy":
        return lambda p, y: ((p > 0.5) == (y > 0.5)).float().mean()
    if name in ("categoricalCrossentropy", "softmaxCrossEntropyFromLogits"):
        return lambda p, y: (p.argmax(-1) == y.argmax(-1)).float().mean()
    if name == "tokenCrossEntropy":
        return lambda p, y: (p.argmax(-1) == y).float().mean()
    return None


def takes_targets(model):
    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return False
    return len(params) >= 2 and all(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params[:2])


def logits(out):
    """A model's output, or the first element of a (logits, loss) pair."""
    return out[0] if isinstance(out, (tuple, list)) else out


def own_loss(out):
    """The loss of a forward's (logits, loss) pair (loss=model)."""
    if not (isinstance(out, (tuple, list)) and len(out) >= 2 and isinstance(out[1], torch.Tensor) and out[1].numel() == 1):
        raise ValueError("loss=model: the forward returned %s, not a (logits, loss) pair with a scalar loss" % type(out).__name__)
    return out[1].float().reshape(())


class DivergenceWatch:
    """src/trainer/divergence.ts's rule (the host sends its figures): WINDOW steps in a row over FACTOR x the
    start's loss, or over FACTOR x the chance level without falling below the start, stop the run."""

    def __init__(self, rule):
        self.rule = rule or None
        self.first, self.ref, self.bad = [], None, 0

    def step(self, step, loss):
        r = self.rule
        if r is None:
            return None
        if self.ref is None:
            self.first.append(loss)
            if len(self.first) >= r["referenceSteps"]:
                self.ref = sorted(self.first)[len(self.first) // 2]
            return None
        over_start = loss > r["factor"] * self.ref
        over_chance = r["chance"] is not None and loss > r["factor"] * r["chance"] and loss >= self.ref
        self.bad = self.bad + 1 if over_start or over_chance else 0
        if self.bad < r["window"]:
            return None
        fmt = lambda x: ("%.2e" % x) if abs(x) >= 1e4 or abs(x) < 1e-3 else ("%.3f" % x)
        why = ("over %sx its start (%s)" % (r["factor"], fmt(self.ref)) if over_start else
               "over %sx the chance level (%s) without falling below its start (%s)" % (r["factor"], fmt(r["chance"]), fmt(self.ref)))
        return "loss diverging: %s at step %d, %s for %d steps in a row" % (fmt(loss), step, why, r["window"])
