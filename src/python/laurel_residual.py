"""LAuReL (Menghani et al., "LAuReL: Learned Augmented Residual Layer", ICML 2025) as a PyTorch module.

One implementation, used three ways: the PyTorch export and the PyTorch training engine concatenate it into the
generated file, and it is written beside a user's model.py as a self-contained module. It computes what LAuReL
Studio's TF.js LaurelResidual layer computes: same variants, weight names, shapes and initialisers. Everything is
passed through constructor arguments; nothing in this file is filled in by a generator.
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

# Gemma 3n's RMSNorm epsilon (LaurelResidual's gemma variant).
RMS_EPS = 1e-6

# The bias-free 1x1 convolution of a channels-first tensor, by its rank.
_CONV = {3: F.conv1d, 4: F.conv2d, 5: F.conv3d}


def low_rank(x, down, up, axis=-1):
    """(x A) B over axis D of x, A [D, r], B [r, D]. D last ([..., D]: two matmuls), or D on axis 1 of a channels-first
    map ([B, D, H, W]: two bias-free 1x1 convolutions, as a hand-written NCHW module computes it, nothing moved)."""
    if axis == -1:
        return torch.matmul(torch.matmul(x, down), up)
    conv = _CONV.get(x.dim()) if axis == 1 else None
    if conv is None:
        return low_rank(x.movedim(axis, -1), down, up).movedim(-1, axis)
    tail = (1,) * (x.dim() - 2)
    return conv(conv(x, down.t().reshape(*down.shape[::-1], *tail)), up.t().reshape(*up.shape[::-1], *tail))


def _per_channel(v, x, axis):
    """A [D] vector shaped to broadcast over axis D of x."""
    return v if axis == -1 else v.reshape(-1, *((1,) * (x.dim() - 1 - axis)))


def rms_norm(x, scale, eps=RMS_EPS, axis=-1):
    """Gemma 3n RMSNorm over axis D: x / sqrt(mean(x^2, D) + eps) * scale (the scale multiplies directly)."""
    return x * torch.rsqrt(x.square().mean(axis, keepdim=True) + eps) * _per_channel(scale, x, axis)


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


class LaurelHistory:
    """The residual-stream states x of one model's LaurelResidual calls in the forward pass running now, by shape.

    Made for a PyTorch source whose adds `laurel apply` rewrote: there nothing wires PA's earlier activations,
    so each LaurelResidual called as forward(f, x) records its x here and a PA one reads the earlier states of
    the same shape (laurel-method 8.5). It lives on the model the pass was started on (the outermost module on
    the call stack). A pass is the life of that model's call: hooks empty the history when `model(x)` starts
    and ends, and a call from another frame (`model.forward(x)` called again) starts a new pass.

    `used`: what each PA call of a checkpointed block took (x and its earlier states), kept past the pass for
    the recomputation during backward (torch.utils.checkpoint), which must see the same states; each entry is
    dropped when the recomputation takes it, all of them when the next pass starts.
    """

    def __init__(self):
        self.states, self.used, self.frame = {}, {}, None

    def begin(self, *_, frame=None):
        self.states, self.used, self.frame = {}, {}, frame

    def end(self, *_):
        self.states, self.frame = {}, None

    def earlier(self, x):
        """The states recorded before x with x's shape, the most recent first."""
        return self.states.get(tuple(x.shape), [])[::-1]

    def record(self, x):
        self.states.setdefault(tuple(x.shape), []).append(x)

    def take_used(self, module, x):
        """For a recomputed call: the entry of `module`'s calls in the pass whose x equals this x (the same
        shape and values: a recomputation repeats the forward), else the first of x's shape."""
        entries = self.used.get(id(module), [])
        same = [e for e in entries if e[0].shape == x.shape]
        match = next((e for e in same if torch.equal(e[0], x.detach())), same[0] if same else None)
        if match is None:
            raise RuntimeError("LaurelResidual (%s): recomputed during backward without a forward call to repeat; "
                               "PA's earlier states are not known" % module.variant)
        entries.remove(match)
        # Cut from other blocks' graph: the reentrant checkpoint backpropagates through the recomputation on its
        # own, which must not run into theirs. requires_grad kept: the other kind replays the saved tensors one
        # by one, so the recomputation must save what the forward saved.
        return [t.detach().requires_grad_(t.requires_grad) for t in match[1]]


_CALLS = ("_call_impl", "forward")
_CHECKPOINT = os.path.join("torch", "utils", "checkpoint.py")
_AUTOGRAD = os.path.join("torch", "autograd", "__init__.py")


def _pass_of_call():
    """Where a LaurelResidual call runs: (model, frame, recompute, checkpointed). The model is the outermost
    nn.Module on the stack, called (`_call_impl`) or its forward called directly, and frame that call's frame;
    recompute: the autograd engine runs (a checkpointed block recomputed during backward); checkpointed: the
    call is inside torch.utils.checkpoint. Runs at every call: frames' locals are read only from the outermost
    candidate inward (usually one), as reading them is what costs."""
    calls = []
    recompute = checkpointed = False
    f = sys._getframe(2)
    while f is not None:
        code = f.f_code
        if code.co_name in _CALLS:
            calls.append(f)
        elif code.co_name in ("backward", "grad") and code.co_filename.endswith(_AUTOGRAD):
            recompute = True
        if code.co_filename.endswith(_CHECKPOINT):
            checkpointed = True
        f = f.f_back
    for f in reversed(calls):
        owner = f.f_locals.get("self")
        if isinstance(owner, nn.Module):
            return owner, f, recompute, checkpointed
    return None, None, recompute, checkpointed


def _compiling():
    """Inside torch.compile's tracing, which cannot follow the stack: LaurelResidual then keeps the history its
    first call found (begun and ended by the model's hooks; model.forward(x) and checkpoints are not told apart)."""
    compiler = getattr(torch, "compiler", None)
    dynamo = sys.modules.get("torch._dynamo")  # not imported: nothing is compiling
    check = getattr(compiler, "is_compiling", None) or getattr(dynamo, "is_compiling", None)
    return bool(check and check())


def model_history(model):
    """The model's LaurelHistory, made on first use with the hooks that begin and end it around `model(x)`."""
    history = model.__dict__.get("_laurel_history")
    if history is None:
        history = LaurelHistory()
        model.__dict__["_laurel_history"] = history
        model.register_forward_pre_hook(history.begin)
        model.register_forward_hook(history.end)
    return history


class LaurelResidual(nn.Module):
    """Replaces the add-merge y = f(x) + x, acting on axis D: the last (channels of NHWC, model width of [B, T, D])
    unless axis says otherwise (axis=1: channels of NCHW). Without width, D is taken at the first call.

    forward([...]) takes f(x) at branch_index and x at shortcut_index; the PA variants then take the earlier
    activations x_{i-1}, x_{i-2}, ... (at most terms - 1). `terms` (default k) is how many PA terms exist at the
    site: x_i and its earlier activations, fewer than k where the history is short; gamma and the per-j pairs are
    made for these only, so every parameter is used (laurel-method 8.3).

    forward(f, x), as a rewritten .py model calls it, gathers the earlier activations itself: every such call
    records x in its model's LaurelHistory, and a PA module takes the earlier states of x's shape recorded in the
    same pass (the closest first). Without width and terms, the PA terms are fixed at the first call: x_i and
    the earlier states that exist then, at most k; gamma and the per-j pairs are made for those only.

    - plain: f + x.  rw: a f + b x.  lr: f + x + (x A) B.  rw+lr: a f + b (x + x A B).
    - pa: f + x + sum_j gamma_j h(x_{i-j}) (j = 0 is x itself).  rw+pa: a f + b (x + sum_j gamma_j h(x_{i-j})).
      h per pa_mode: identity, one shared pair (A, B), or a pair per j; rw+lr+pa (Eq. 6) always a pair per j.
    - gemma (Gemma 3n's block): (f + x) / sqrt2 + (n + RMSNorm(n A B)) / sqrt2, n = the pre-norm output given as a third
      input (a pre-norm block's own norm, as Gemma reads it), else n = x / rms(x).
    - a, b: softmax of rw_logits [2] (zeros, so 0.5 each), sigmoid of rw_theta [1] (a = s, b = 1 - s), or fixed 1/sqrt2.
    Weights: lr_down / pa_down* A [D, r] (xavier or column-orthogonal), lr_up / pa_up* B [r, D] zeros (glorot
    for gemma: its RMSNorm would divide by sqrt(eps) at B = 0), gemma_norm_scale [D] ones, pa_gamma [terms] ones.
    """

    def __init__(self, width=None, variant="plain", rank=16, k=3, rw_norm="softmax", lr_init="xavier", pa_mode="identity", branch_index=0, shortcut_index=1, axis=-1, terms=None):
        super().__init__()
        self.variant, self.rank, self.k, self.rw_norm, self.lr_init = variant, rank, k, rw_norm, lr_init
        # Terms are learned at the first call (as D is) when neither is given: a rewritten .py source.
        self.terms = None if terms is None and width is None else (k if terms is None else int(terms))
        if self.terms is not None and not 1 <= self.terms <= k:
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
            self.pa_gamma = nn.Parameter(torch.ones(self.terms) if self.terms else torch.empty(0))
        self.lr_down = self.lr_up = None
        # Without a width the D-sized weights are empty placeholders filled at the first call (as nn.LazyLinear
        # learns in_features): the same Parameter objects, so an optimizer made before that call keeps them.
        # Placeholders draw nothing from the global RNG, so the user's other layers start as they did before.
        with torch.random.fork_rng(devices=[], enabled=not width):
            for name, value in self._initial(width or 1, self.terms or k).items():
                setattr(self, name, nn.Parameter(value if width else torch.empty(0)))

    def _initial(self, d, terms):
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
            for j in range(terms):
                out["pa_down_%d" % j] = _down_init(d, r, lr_init)
                out["pa_up_%d" % j] = torch.zeros(r, d)
        return out

    def _materialize(self, d, like):
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            for name, value in self._initial(d, self.terms or 1).items():
                getattr(self, name).data = value.to(device=like.device, dtype=like.dtype)
        self.width = d

    def _set_terms(self, terms, like):
        """Fixes the PA terms at the first call (x_i and the earlier states that exist, at most k): gamma gets its
        values in place, the per-j placeholders of terms that do not exist are dropped (never trained or counted)."""
        self.terms = terms
        with torch.no_grad():
            self.pa_gamma.data = torch.ones(terms, device=like.device, dtype=like.dtype)
        for j in range(terms, self.k):
            for name in ("pa_down_%d" % j, "pa_up_%d" % j):
                if name in self._parameters:
                    delattr(self, name)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint of a module that has run loads into one that has not: take D from the checkpoint.
        if self.has_pa and self.terms is None and prefix + "pa_gamma" in state_dict:
            self._set_terms(state_dict[prefix + "pa_gamma"].numel(), state_dict[prefix + "pa_gamma"])
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
            inputs += self._gather(shortcut)
        elif self.has_pa and self.terms is None:
            self._set_terms(min(self.k, len(inputs) - 1), inputs[0])
        axis = self.axis % inputs[0].dim()
        if self.width is None:
            self._materialize(inputs[0].shape[axis], inputs[0])
        return self._forward(inputs, -1 if axis == inputs[0].dim() - 1 else axis)

    def _gather(self, x):
        """Records x in the model's history; a PA module returns the earlier states it sums (its terms - 1)."""
        history = self.__dict__.get("_history")
        checkpointed = False
        if history is None or not _compiling():
            model, frame, recompute, checkpointed = _pass_of_call()
            if recompute and history is not None:
                return history.take_used(self, x) if self.has_pa else []
            history = model_history(model) if model is not None else LaurelHistory()
            if history.frame is not frame:
                history.begin(frame=frame)
            self.__dict__["_history"] = history
        earlier = history.earlier(x) if self.has_pa else []
        history.record(x)
        if not self.has_pa:
            return []
        if self.terms is None:
            self._set_terms(min(self.k, 1 + len(earlier)), x)
        earlier = earlier[: self.terms - 1]
        if checkpointed:
            history.used.setdefault(id(self), []).append((x.detach(), earlier))
        return earlier

    def _forward(self, inputs, axis):
        """The merge with D on `axis` (-1: last; 1: channels-first maps, whose low-rank maps are 1x1 convolutions)."""
        f, x = inputs[self.branch_index], inputs[self.shortcut_index]
        if self.variant == "plain":
            return f + x
        if self.variant == "gemma":
            extra = [t for i, t in enumerate(inputs) if i not in (self.branch_index, self.shortcut_index)]
            # n: the branch's own pre-norm output (a third input, wired where the block has one), else the
            # scale-free RMS normalisation of x standing in for it.
            n = extra[0] if extra else x * torch.rsqrt(x.square().mean(axis, keepdim=True) + RMS_EPS)
            laurel = n + rms_norm(low_rank(n, self.lr_down, self.lr_up, axis), self.gemma_norm_scale, axis=axis)
            return (f + x + laurel) * math.sqrt(0.5)
        g = x
        if self.lr_down is not None:
            g = x + low_rank(x, self.lr_down, self.lr_up, axis)
        if self.has_pa:
            history = [x] + [t for n, t in enumerate(inputs) if n not in (self.branch_index, self.shortcut_index)]
            if len(history) > self.terms:
                raise ValueError("LaurelResidual (%s, %d terms) got %d earlier activations; at most %d" % (self.variant, self.terms, len(history) - 1, self.terms - 1))
            terms = []
            for j, h in enumerate(history):
                if self.pa_mode == "lowrank-shared":
                    h = low_rank(h, self.pa_down, self.pa_up, axis)
                elif self.pa_mode == "lowrank-per-j":
                    h = low_rank(h, getattr(self, "pa_down_%d" % j), getattr(self, "pa_up_%d" % j), axis)
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
