"""LAuReL (Menghani et al., "LAuReL: Learned Augmented Residual Layer", ICML 2025) as a PyTorch module.

One implementation, used three ways: the PyTorch export and the PyTorch training engine concatenate it into the
generated file, and it is written beside a user's model.py as a self-contained module. It computes what LAuReL
Studio's TF.js LaurelResidual layer computes: same variants, weight names, shapes and initialisers. Everything is
passed through constructor arguments; nothing in this file is filled in by a generator.
"""
import math

import torch
import torch.nn as nn

# Gemma 3n's RMSNorm epsilon (LaurelResidual's gemma variant).
RMS_EPS = 1e-6


def low_rank(x, down, up):
    """(x A) B over the last axis D of x [..., D], A [D, r], B [r, D]: bias-free 1x1 convolutions on NHWC."""
    return torch.matmul(torch.matmul(x, down), up)


def rms_norm(x, scale, eps=RMS_EPS):
    """Gemma 3n RMSNorm: x / sqrt(mean(x^2, last axis) + eps) * scale (the scale multiplies directly)."""
    return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps) * scale


def _glorot(rows, cols):
    limit = math.sqrt(6.0 / (rows + cols))
    return torch.empty(rows, cols).uniform_(-limit, limit)


def _down_init(width, rank, lr_init):
    """A [D, r]: Xavier (glorot-uniform), or column-orthogonal A[i, i mod r] = 1/sqrt(r D)."""
    if lr_init == "column-orthogonal":
        a = torch.zeros(width, rank)
        a[torch.arange(width), torch.arange(width) % rank] = 1.0 / math.sqrt(rank * width)
        return a
    return _glorot(width, rank)


class LaurelResidual(nn.Module):
    """Replaces the add-merge y = f(x) + x, acting on axis D: the last (channels of NHWC, model width of [B, T, D])
    unless axis says otherwise (axis=1: channels of NCHW). Without width, D is taken at the first call.

    forward([...]) takes f(x) at branch_index and x at shortcut_index; the PA variants then take the earlier
    activations x_{i-1}, x_{i-2}, ... (at most terms - 1). `terms` (default k) is how many PA terms exist at the
    site: x_i and its earlier activations, fewer than k where the history is short; gamma and the per-j pairs are
    made for these only, so every parameter is used (laurel-method 8.3).

    - plain: f + x.  rw: a f + b x.  lr: f + x + (x A) B.  rw+lr: a f + b (x + x A B).
    - pa: f + x + sum_j gamma_j h(x_{i-j}) (j = 0 is x itself).  rw+pa: a f + b (x + sum_j gamma_j h(x_{i-j})).
      h per pa_mode: identity, one shared pair (A, B), or a pair per j; rw+lr+pa (Eq. 6) always a pair per j.
    - gemma (Gemma 3n's block on a generic site): (f + x) / sqrt2 + (n + RMSNorm(n A B)) / sqrt2, n = x / rms(x).
    - a, b: softmax of rw_logits [2] (zeros, so 0.5 each), sigmoid of rw_theta [1] (a = s, b = 1 - s), or fixed 1/sqrt2.
    Weights: lr_down / pa_down* A [D, r] (xavier or column-orthogonal), lr_up / pa_up* B [r, D] zeros (glorot
    for gemma: its RMSNorm would divide by sqrt(eps) at B = 0), gemma_norm_scale [D] ones, pa_gamma [terms] ones.
    """

    def __init__(self, width=None, variant="plain", rank=16, k=3, rw_norm="softmax", lr_init="xavier", pa_mode="identity", branch_index=0, shortcut_index=1, axis=-1, terms=None):
        super().__init__()
        self.variant, self.rank, self.k, self.rw_norm, self.lr_init = variant, rank, k, rw_norm, lr_init
        self.terms = k if terms is None else int(terms)
        if not 1 <= self.terms <= k:
            raise ValueError("LaurelResidual: terms must be in 1 .. k = %d, got %r" % (k, terms))
        self.branch_index, self.shortcut_index = branch_index, shortcut_index
        # The axis of the width D: -1 (NHWC maps, [B, T, D]) or 1 (channels of PyTorch's NCHW maps).
        self.axis = axis
        self.width = width
        self.has_rw = variant.startswith("rw")
        self.has_pa = variant.endswith("pa")
        self.pa_mode = "lowrank-per-j" if variant == "rw+lr+pa" else pa_mode
        if self.has_rw and rw_norm == "softmax":
            self.rw_logits = nn.Parameter(torch.zeros(2))
        if self.has_rw and rw_norm == "sigmoid-single":
            self.rw_theta = nn.Parameter(torch.zeros(1))
        if self.has_pa:
            self.pa_gamma = nn.Parameter(torch.ones(self.terms))
        self.lr_down = self.lr_up = None
        # Without a width the D-sized weights are empty placeholders filled at the first call (as nn.LazyLinear
        # learns in_features): the same Parameter objects, so an optimizer made before that call keeps them.
        # Placeholders draw nothing from the global RNG, so the user's other layers start as they did before.
        with torch.random.fork_rng(devices=[], enabled=not width):
            for name, value in self._initial(width or 1).items():
                setattr(self, name, nn.Parameter(value if width else torch.empty(0)))

    def _initial(self, d):
        """Initial values of the weights that need the width D: the low-rank maps and Gemma's norm scale."""
        r, lr_init = self.rank, self.lr_init
        has_lr = self.variant in ("lr", "rw+lr", "rw+lr+pa", "gemma")
        out = {}
        if self.variant == "gemma":
            out["lr_down"] = _down_init(d, r, lr_init)
            out["lr_up"] = _glorot(r, d)
            out["gemma_norm_scale"] = torch.ones(d)
        elif has_lr and not self.has_pa:
            out["lr_down"] = _down_init(d, r, lr_init)
            out["lr_up"] = torch.zeros(r, d)
        if self.has_pa and self.pa_mode == "lowrank-shared":
            out["pa_down"] = _down_init(d, r, lr_init)
            out["pa_up"] = torch.zeros(r, d)
        elif self.has_pa and self.pa_mode == "lowrank-per-j":
            for j in range(self.terms):
                out["pa_down_%d" % j] = _down_init(d, r, lr_init)
                out["pa_up_%d" % j] = torch.zeros(r, d)
        return out

    def _materialize(self, d, like):
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            for name, value in self._initial(d).items():
                getattr(self, name).data = value.to(device=like.device, dtype=like.dtype)
        self.width = d

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint of a module that has run loads into one that has not: take D from the checkpoint.
        if self.width is None:
            down = state_dict.get(prefix + "lr_down", state_dict.get(prefix + "pa_down", state_dict.get(prefix + "pa_down_0")))
            if down is not None:
                self._materialize(down.shape[0], down)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self):
        return "variant=%r, width=%s, rank=%d" % (self.variant, self.width, self.rank)

    def forward(self, inputs, shortcut=None):
        """forward([f, x, earlier...]) as the export calls it, or forward(f, x) as a .py model's edited line does."""
        if shortcut is not None:
            inputs = [inputs, shortcut] if self.branch_index == 0 else [shortcut, inputs]
        axis = self.axis % inputs[0].dim()
        if self.width is None:
            self._materialize(inputs[0].shape[axis], inputs[0])
        if axis != inputs[0].dim() - 1:
            return self._forward([t.movedim(axis, -1) for t in inputs]).movedim(-1, axis)
        return self._forward(inputs)

    def _forward(self, inputs):
        f, x = inputs[self.branch_index], inputs[self.shortcut_index]
        if self.variant == "plain":
            return f + x
        if self.variant == "gemma":
            n = x * torch.rsqrt(x.square().mean(-1, keepdim=True) + RMS_EPS)  # scale-free RMS norm: Gemma's pre-norm n
            laurel = n + rms_norm(low_rank(n, self.lr_down, self.lr_up), self.gemma_norm_scale)
            return (f + x + laurel) * math.sqrt(0.5)
        g = x
        if self.lr_down is not None:
            g = x + low_rank(x, self.lr_down, self.lr_up)
        if self.has_pa:
            history = [x] + [t for n, t in enumerate(inputs) if n not in (self.branch_index, self.shortcut_index)]
            if len(history) > self.terms:
                raise ValueError("LaurelResidual (%s, %d terms) got %d earlier activations; at most %d" % (self.variant, self.terms, len(history) - 1, self.terms - 1))
            terms = []
            for j, h in enumerate(history):
                if self.pa_mode == "lowrank-shared":
                    h = low_rank(h, self.pa_down, self.pa_up)
                elif self.pa_mode == "lowrank-per-j":
                    h = low_rank(h, getattr(self, "pa_down_%d" % j), getattr(self, "pa_up_%d" % j))
                terms.append(self.pa_gamma[j] * h)
            g = x + sum(terms)
        if not self.has_rw:
            return f + g
        alpha, beta = self.rw_coefficients()
        return alpha * f + beta * g

    def rw_coefficients(self):
        """(alpha, beta) per rw_norm."""
        if self.rw_norm == "fixed":
            return math.sqrt(0.5), math.sqrt(0.5)
        if self.rw_norm == "softmax":
            alpha, beta = torch.softmax(self.rw_logits, 0)
            return alpha, beta
        alpha = torch.sigmoid(self.rw_theta[0])
        return alpha, 1 - alpha
