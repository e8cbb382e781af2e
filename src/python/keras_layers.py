"""TF / Keras semantics in PyTorch, for the modules LAuReL Studio generates from Keras and TF.js files.

Convolutions, pooling and resizing read and give channels-first tensors (NCHW, [B, C, T]), PyTorch's own layout:
the generated forward() holds a channels-last file's feature maps so and moves axes only where a layer needs the
file's order; 'same' padding is fixed at export where the input size allows. The generated module (one class per model) is appended to this text, so every name here
is module-level in the exported file; load_tfjs_weights reads the class's TFJS_WEIGHTS table.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def tf_same_pads(sizes, kernel, strides, dilation):
    """TF 'same' padding of each spatial axis as (before, after); an odd total puts the extra pixel after."""
    pads = []
    for n, k, s, d in zip(sizes, kernel, strides, dilation):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def tf_pad(x, pads, value=0.0):
    """Pads the spatial axes of a channels-first tensor [N, C, *spatial] by (before, after) pairs."""
    flat = [p for pair in reversed(pads) for p in pair]
    return F.pad(x, flat, value=value) if any(flat) else x


def tf_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras ReLU: x above threshold (capped at max_value), negative_slope * (x - threshold) below it."""
    y = torch.where(x >= threshold, x, negative_slope * (x - threshold))
    return y if max_value is None else torch.clamp(y, max=max_value)


def tf_hard_sigmoid(x):
    """Keras 2 / TF.js hard_sigmoid: clip(0.2 x + 0.5, 0, 1). (Keras 3's is F.hardsigmoid: relu6(x + 3) / 6.)"""
    return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


def tf_dropout(x, rate, noise_shape, training):
    """Keras dropout with a noise shape (None entries follow x): one mask value per broadcast group."""
    if not training or rate == 0:
        return x
    shape = [x.shape[i] if n is None else n for i, n in enumerate(noise_shape)]
    keep = (torch.rand(shape, device=x.device) >= rate).to(x.dtype)
    return x * keep / (1.0 - rate)


def tf_pool(x, kind, pool_size, strides, padding):
    """Keras Max/AveragePoolingND on a channels-first tensor. padding: "valid", "same" (computed from the input
    size) or the (before, after) pairs of 'same' fixed at export. Pads as TF does: max pooling never picks the
    padding, average pooling divides by the number of real inputs in each window."""
    pool = getattr(F, "%s_pool%dd" % (kind, x.dim() - 2))
    if padding == "valid":
        return pool(x, pool_size, strides)
    pads = tf_same_pads(x.shape[2:], pool_size, strides, [1] * len(pool_size)) if padding == "same" else padding
    if all(b == a and 2 * b <= k for (b, a), k in zip(pads, pool_size)):
        # Symmetric: torch's own padding (max pooling pads with -inf; count_include_pad=False is TF's average).
        extra = {} if kind == "max" else {"count_include_pad": False}
        return pool(x, pool_size, strides, [b for b, _ in pads], **extra)
    if kind == "max":
        return pool(tf_pad(x, pads, -math.inf), pool_size, strides)
    ones = torch.ones_like(x[:1, :1])
    return pool(tf_pad(x, pads), pool_size, strides) / pool(tf_pad(ones, pads), pool_size, strides)


class _TFConv:
    """Keras ConvND on a torch ConvNd, channels-first. Symmetric padding is the ConvNd's own `padding`; tf_padding
    is what it cannot do: the (before, after) pairs of an asymmetric 'same' or 'causal' padding (fixed at export),
    or "same" where the input size was unknown then (computed from the actual input, as TF does)."""

    def forward(self, x):
        if self.tf_padding == "same":
            x = tf_pad(x, tf_same_pads(x.shape[2:], self.kernel_size, self.stride, self.dilation))
        elif self.tf_padding is not None:
            x = tf_pad(x, self.tf_padding)
        return super().forward(x)


class Conv1dTF(_TFConv, nn.Conv1d):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True, tf_padding=None):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
        self.tf_padding = tf_padding


class Conv2dTF(_TFConv, nn.Conv2d):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True, tf_padding=None):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
        self.tf_padding = tf_padding


class Conv3dTF(_TFConv, nn.Conv3d):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True, tf_padding=None):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
        self.tf_padding = tf_padding


class ConvTransposeTF(nn.Module):
    """Keras ConvNDTranspose: the full transposed convolution, then the window TF keeps for 'same' / 'valid'
    (and output_padding), zero-filled where it runs past the full output, then the bias."""

    def __init__(self, rank, in_channels, out_channels, kernel_size, stride, dilation, bias=True, tf_padding="valid", output_padding=None):
        super().__init__()
        self.kernel_size, self.stride, self.dilation = tuple(kernel_size), tuple(stride), tuple(dilation)
        self.tf_padding, self.output_padding = tf_padding, output_padding
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels, *kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x):
        n = x.dim() - 2
        conv = getattr(F, "conv_transpose%dd" % n)
        y = conv(x, self.weight, None, self.stride, 0, 0, 1, self.dilation)
        for i in range(n):
            size, s = x.shape[2 + i], self.stride[i]
            k = (self.kernel_size[i] - 1) * self.dilation[i] + 1
            same = self.tf_padding == "same"
            if self.output_padding is None:
                length = size * s if same else size * s + max(k - s, 0)
            else:
                length = (size - 1) * s + k - 2 * (k // 2 if same else 0) + self.output_padding[i]
            before = max((size - 1) * s + k - length, 0) // 2 if same else 0
            y = y.narrow(2 + i, before, min(length, y.shape[2 + i] - before))
            short = length - y.shape[2 + i]
            if short > 0:
                pads = [(0, 0)] * n
                pads[i] = (0, short)
                y = tf_pad(y, pads)
        if self.bias is not None:
            y = y + self.bias.reshape(1, -1, *([1] * n))
        return y


class SeparableConvTF(nn.Module):
    """Keras SeparableConvND: a depthwise convolution (depth_multiplier outputs per channel) then a 1x1 one."""

    def __init__(self, rank, in_channels, out_channels, kernel_size, depth_multiplier=1, stride=1, padding=0, dilation=1, bias=True, tf_padding=None):
        super().__init__()
        conv = {1: Conv1dTF, 2: Conv2dTF}[rank]
        mid = in_channels * depth_multiplier
        self.depthwise = conv(in_channels, mid, kernel_size, stride, padding, dilation, in_channels, False, tf_padding)
        self.pointwise = conv(mid, out_channels, 1, bias=bias)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class BatchNormTF(nn.Module):
    """Keras BatchNormalization over one axis. momentum is torch's: 1 - Keras momentum."""

    def __init__(self, num_features, axis=1, eps=1e-3, momentum=0.01, center=True, scale=True):
        super().__init__()
        self.axis, self.eps, self.momentum = axis, eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features)) if scale else None
        self.bias = nn.Parameter(torch.zeros(num_features)) if center else None
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        # axis 1 (a channels-first map, or a [B, D] batch): torch's own channel axis, nothing moves.
        xc = x if self.axis == 1 else x.movedim(self.axis, 1)
        if self.training and xc.numel() == xc.shape[1]:
            y = self._one_value(xc)
        else:
            y = F.batch_norm(xc, self.running_mean, self.running_var, self.weight, self.bias, self.training, self.momentum, self.eps)
        return y if self.axis == 1 else y.movedim(1, self.axis)

    def _one_value(self, xc):
        # One value per channel (batch 1 over a 1x1 map, as Inception v3's head at its smallest input): torch
        # refuses it; Keras and TF.js normalise it with the batch's mean (the value) and variance 0, giving beta,
        # and move the running mean toward the value and the running variance toward 0.
        with torch.no_grad():
            self.running_mean.mul_(1 - self.momentum).add_(xc.reshape(-1), alpha=self.momentum)
            self.running_var.mul_(1 - self.momentum)
        view = [1, xc.shape[1]] + [1] * (xc.dim() - 2)
        y = (xc - xc) * (1 / math.sqrt(self.eps))
        if self.weight is not None:
            y = y * self.weight.reshape(view)
        if self.bias is not None:
            y = y + self.bias.reshape(view)
        return y


class LayerNormTF(nn.Module):
    """Keras LayerNormalization over the given axes (gamma / beta have those axes' sizes). Keras 3 rms_scaling:
    x * rsqrt(var(x) + eps) * gamma, the variance about the mean, no beta (Keras's LayerNormalization, not ops.rms_normalization)."""

    def __init__(self, shape, axes, eps=1e-3, center=True, scale=True, rms_scaling=False):
        super().__init__()
        self.axes, self.eps, self.rms_scaling = tuple(axes), eps, rms_scaling
        self.weight = nn.Parameter(torch.ones(shape)) if scale or rms_scaling else None
        self.bias = nn.Parameter(torch.zeros(shape)) if center and not rms_scaling else None

    def forward(self, x):
        n = len(self.axes)
        if not self.rms_scaling and self.axes == tuple(range(x.dim() - n, x.dim())):
            # Over the trailing axes (a transformer's width): torch's fused layer norm computes the same formula.
            return F.layer_norm(x, x.shape[-n:], self.weight, self.bias, self.eps)
        mean = x.mean(self.axes, keepdim=True)
        var = (x - mean).square().mean(self.axes, keepdim=True)
        y = (x if self.rms_scaling else x - mean) * torch.rsqrt(var + self.eps)
        view = [x.shape[a] if a in self.axes else 1 for a in range(x.dim())]
        if self.weight is not None:
            y = y * self.weight.reshape(view)
        if self.bias is not None:
            y = y + self.bias.reshape(view)
        return y


class GroupNormTF(nn.Module):
    """Keras GroupNormalization: channels (on `axis`) split into groups, each normalised over the other non-batch
    axes and its channels; gamma / beta per channel."""

    def __init__(self, channels, groups, axis=-1, eps=1e-3, center=True, scale=True):
        super().__init__()
        self.groups, self.axis, self.eps = channels if groups == -1 else groups, axis, eps
        self.weight = nn.Parameter(torch.ones(channels)) if scale else None
        self.bias = nn.Parameter(torch.zeros(channels)) if center else None

    def forward(self, x):
        y = x.movedim(self.axis, -1)
        shape = y.shape
        g = y.reshape(*shape[:-1], self.groups, shape[-1] // self.groups)
        axes = tuple(range(1, g.dim() - 2)) + (g.dim() - 1,)
        mean = g.mean(axes, keepdim=True)
        var = (g - mean).square().mean(axes, keepdim=True)
        y = ((g - mean) * torch.rsqrt(var + self.eps)).reshape(shape)
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y.movedim(-1, self.axis)


class NormalizationTF(nn.Module):
    """Keras preprocessing Normalization: (x - mean) / max(sqrt(variance), 1e-7) over the kept axes (invert: the
    reverse). mean / variance come from the file's config, or are adapted on the training data (adapt()), as
    Keras's layer.adapt(data) computes them; they are buffers (not trained), counted as Keras counts its weights."""

    def __init__(self, shape, axes, mean=None, variance=None, invert=False):
        super().__init__()
        self.axes, self.invert = tuple(axes), invert
        self.needs_adapt = mean is None or variance is None
        self.register_buffer("adapt_mean", torch.zeros(shape) if mean is None else torch.as_tensor(mean, dtype=torch.float32).expand(shape).clone())
        self.register_buffer("adapt_variance", torch.ones(shape) if variance is None else torch.as_tensor(variance, dtype=torch.float32).expand(shape).clone())
        if self.needs_adapt:
            self.register_buffer("adapt_count", torch.zeros(()))
        self._sums = None

    def _view(self, x):
        return [x.shape[a] if a in self.axes else 1 for a in range(x.dim())]

    def forward(self, x):
        if self._sums is not None:
            # adapt(): collect the statistics of this layer's input, then stop the forward pass here.
            reduce = tuple(a for a in range(x.dim()) if a not in self.axes)
            n, s, q = self._sums
            self._sums = (n + math.prod(x.shape[a] for a in reduce), s + x.double().sum(reduce), q + x.double().square().sum(reduce))
            raise _AdaptStop()
        mean, scale = self.adapt_mean.reshape(self._view(x)), torch.clamp(self.adapt_variance.sqrt(), min=1e-7).reshape(self._view(x))
        return mean + x * scale if self.invert else (x - mean) / scale


class _AdaptStop(Exception):
    pass


def adapt_normalization(model, batches):
    """Keras's Normalization.adapt for every layer whose file gave no mean / variance, in the order the forward pass
    meets them: each from its own input over all of `batches` (an iterable factory of input tuples). Returns the
    adapted submodule names."""
    done = []
    for name, m in model.named_modules():
        if isinstance(m, NormalizationTF) and m.needs_adapt:
            m._sums = (0, 0.0, 0.0)
            with torch.no_grad():
                for xs in batches():
                    try:
                        model(*xs)
                    except _AdaptStop:
                        pass
            n, s, q = m._sums
            m._sums = None
            if n == 0:
                raise ValueError("Normalization layer %s saw no data to adapt on" % name)
            mean = s / n
            m.adapt_mean.copy_(mean.reshape(m.adapt_mean.shape).float())
            m.adapt_variance.copy_((q / n - mean.square()).clamp(min=0).reshape(m.adapt_variance.shape).float())
            m.adapt_count.fill_(float(n))
            m.needs_adapt = False
            done.append(name)
    return done


def unit_norm(x, axes):
    """Keras UnitNormalization: x / sqrt(max(sum(x^2 over axes), 1e-12))."""
    return x * torch.rsqrt(torch.clamp(x.square().sum(axes, keepdim=True), min=1e-12))


def tf_resize(x, height, width, mode):
    """Keras Resizing of a channels-first image without aspect-ratio cropping: tf.image.resize's half-pixel
    sampling, without antialiasing (bilinear: torch's align_corners=False; nearest: torch's nearest-exact)."""
    return F.interpolate(x, size=(height, width), mode=mode, **({"align_corners": False} if mode == "bilinear" else {}))


def center_crop(x, height, width, h_axis=1):
    """Keras CenterCrop of an image at least as large as the target: the window starting at ((H - h) // 2, (W - w) // 2);
    h_axis is where the height is held (1 in a channels-last image, 2 channels-first)."""
    top, left = (x.shape[h_axis] - height) // 2, (x.shape[h_axis + 1] - width) // 2
    return x.narrow(h_axis, top, height).narrow(h_axis + 1, left, width)


# Buffers that are Keras weights (BatchNormalization's moving statistics, Normalization's mean / variance / count):
# counted with the parameters, as Keras and the core count them.
STATISTICS = ("running_mean", "running_var", "adapt_mean", "adapt_variance", "adapt_count")


def count_weights(model):
    """Parameters plus the buffers Keras counts as (non-trainable) weights."""
    return sum(p.numel() for p in model.parameters()) + sum(b.numel() for k, b in model.named_buffers() if k.rsplit(".", 1)[-1] in STATISTICS)


class PReLUTF(nn.Module):
    """Keras PReLU: alpha has the input's shape without the batch axis (1 on shared axes), zeros at init."""

    def __init__(self, shape):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(shape))

    def forward(self, x):
        return F.relu(x) - self.alpha * F.relu(-x)


def tfjs_to_torch(a, layout):
    """A Keras-layout array as the torch parameter. conv: kernel [*k, in, out] -> [out, in, *k] (a transposed
    conv's [*k, out, in] -> [in, out, *k] is the same permutation); dense: [in, out] -> [out, in];
    depthwise: [*k, in, m] -> [in * m, 1, *k]; copy: as is."""
    t = torch.as_tensor(np.array(a, dtype=np.float32))
    n = t.dim()
    if layout == "dense":
        return t.t()
    if layout == "conv":
        return t.permute(n - 1, n - 2, *range(n - 2))
    if layout == "depthwise":
        t = t.reshape(*t.shape[:-2], -1)
        return t.permute(n - 2, *range(n - 2)).unsqueeze(1)
    return t


def load_tfjs_weights(model, named_arrays, strict=True):
    """Copies TF.js / Keras weights into a generated model.

    named_arrays: {weight name: numpy array in the Keras layout}, named as a TF.js weights manifest names them
    ('conv2d/kernel'; a Keras ':0' suffix is accepted). The model's TFJS_WEIGHTS lists (Keras name, torch name,
    layout) for each weight. With strict, every weight of the model must be given and every name must be known.
    Returns the names that were not used.
    """
    arrays = {(name[:-2] if name.endswith(":0") else name): a for name, a in named_arrays.items()}
    targets = dict(model.named_parameters())
    targets.update(model.named_buffers())
    missing, used = [], set()
    with torch.no_grad():
        for tfjs_name, torch_name, layout in model.TFJS_WEIGHTS:
            if tfjs_name not in arrays:
                missing.append(tfjs_name)
                continue
            value = tfjs_to_torch(arrays[tfjs_name], layout)
            target = targets[torch_name]
            if tuple(value.shape) != tuple(target.shape):
                raise ValueError("%s: shape %s (as torch %s) does not fit %s %s" % (tfjs_name, tuple(np.shape(arrays[tfjs_name])), tuple(value.shape), torch_name, tuple(target.shape)))
            target.copy_(value)
            used.add(tfjs_name)
    unused = sorted(set(arrays) - used)
    if strict and (missing or unused):
        raise KeyError("load_tfjs_weights: missing %s; unexpected %s" % (missing[:8], unused[:8]))
    return unused
