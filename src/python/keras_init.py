"""Keras initializers in NumPy, so the PyTorch engine starts a model as Keras would, without TF.js.

A section of the generated module, after keras_layers.py (it uses tfjs_to_torch from there). Each weight gets its
value in the Keras layout and shape (fans as Keras computes them: a conv kernel [*k, in, out] has fan_in =
in * prod(k)), then the layout change load_tfjs_weights makes. Every weight draws from its own generator, seeded
from the run seed and the weight's Keras name, so a layer that a LAuReL plan does not touch starts identical in the
baseline and in every variant. A seed written in the file's initializer config is not used: the run seed decides.
"""
import math
import re
import zlib

import numpy as np
import torch

# Keras defaults for weights whose layer config names no initializer.
DEFAULT_INITIALIZERS = {
    "kernel": "glorot_uniform",
    "depthwise_kernel": "glorot_uniform",
    "pointwise_kernel": "glorot_uniform",
    "recurrent_kernel": "orthogonal",
    "bias": "zeros",
    "gamma": "ones",
    "beta": "zeros",
    "moving_mean": "zeros",
    "moving_variance": "ones",
    "embeddings": "random_uniform",
    "alpha": "zeros",
}

# Names (lower case, no underscores) -> (scale, mode, distribution) of the VarianceScaling family.
_VARIANCE_SCALING = {
    "glorotuniform": (1.0, "fan_avg", "uniform"),
    "glorotnormal": (1.0, "fan_avg", "truncated_normal"),
    "xavieruniform": (1.0, "fan_avg", "uniform"),
    "xaviernormal": (1.0, "fan_avg", "truncated_normal"),
    "heuniform": (2.0, "fan_in", "uniform"),
    "henormal": (2.0, "fan_in", "truncated_normal"),
    "lecununiform": (1.0, "fan_in", "uniform"),
    "lecunnormal": (1.0, "fan_in", "truncated_normal"),
}


def keras_fans(shape):
    """(fan_in, fan_out) as Keras computes them: the receptive field multiplies the last two axes."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(rng, shape, mean, stddev):
    """Normal values redrawn until within two standard deviations of the mean (tf.random.truncated_normal)."""
    out = rng.normal(0.0, 1.0, size=shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, size=int(bad.sum()))
        bad = np.abs(out) > 2.0
    return mean + stddev * out


def _spec(init):
    """(normalised name, config) of an initializer as files write it: 'he_normal', {class_name, config}, Keras 3's
    {module, class_name, config, registered_name}, TF.js's camelCase names."""
    if isinstance(init, str):
        name, config = init, {}
    elif isinstance(init, dict) and isinstance(init.get("class_name"), str):
        name, config = init["class_name"], init.get("config") or {}
    else:
        raise ValueError("initializer %r is neither a name nor {class_name, config}" % (init,))
    return name.replace("_", "").lower(), config


def initial_value(init, shape, rng):
    """A float32 array of `shape` (the Keras layout) drawn as the Keras initializer `init` draws it."""
    name, c = _spec(init)
    shape = tuple(int(d) for d in shape)
    if name in ("zeros", "zero"):
        return np.zeros(shape, np.float32)
    if name in ("ones", "one"):
        return np.ones(shape, np.float32)
    if name == "constant":
        return np.full(shape, float(c.get("value", 0.0)), np.float32)
    if name in ("randomnormal", "normal"):
        return rng.normal(float(c.get("mean", 0.0)), float(c.get("stddev", 0.05)), size=shape).astype(np.float32)
    if name in ("randomuniform", "uniform"):
        lo, hi = float(c.get("minval", -0.05)), float(c.get("maxval", 0.05))
        return rng.uniform(lo, hi, size=shape).astype(np.float32)
    if name == "truncatednormal":
        return _truncated_normal(rng, shape, float(c.get("mean", 0.0)), float(c.get("stddev", 0.05))).astype(np.float32)
    if name in ("orthogonal", "orthogonalinitializer"):
        return _orthogonal(rng, shape, float(c.get("gain", 1.0)))
    if name == "identity":
        if len(shape) != 2:
            raise ValueError("the Identity initializer needs a 2-D weight, not %s" % (shape,))
        return (float(c.get("gain", 1.0)) * np.eye(*shape)).astype(np.float32)
    if name == "lstmunitforgetbias":
        # Keras LSTM with unit_forget_bias: the bias initializer for i, ones for f, the initializer again for c and o.
        u, inner = int(c["units"]), c.get("initializer") or "zeros"
        return np.concatenate([initial_value(inner, (u,), rng), np.ones(u, np.float32), initial_value(inner, (2 * u,), rng)])
    if name in _VARIANCE_SCALING:
        scale, mode, distribution = _VARIANCE_SCALING[name]
    elif name == "variancescaling":
        # TF.js writes camelCase ("fanAvg", "truncatedNormal"); older TF.js files write null for the defaults.
        snake = lambda v: re.sub(r"([a-z])([A-Z])", r"\1_\2", v).lower() if isinstance(v, str) else v
        scale, mode = float(c.get("scale") if c.get("scale") is not None else 1.0), snake(c.get("mode")) or "fan_in"
        # Keras's default is truncated_normal; TF.js's "normal" (a null in those older files).
        distribution = snake(c["distribution"]) if c.get("distribution") else ("normal" if "distribution" in c else "truncated_normal")
    else:
        raise ValueError("initializer %r has no PyTorch-engine form" % (init,))
    fan_in, fan_out = keras_fans(shape)
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}.get(mode)
    if fan is None:
        raise ValueError("VarianceScaling mode %r is not fan_in, fan_out or fan_avg" % (mode,))
    scale /= max(1.0, fan)
    if distribution == "uniform":
        limit = math.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, size=shape).astype(np.float32)
    if distribution == "truncated_normal":
        # Keras: the stddev of a normal truncated at two stddevs is 0.8796... of the untruncated one.
        return _truncated_normal(rng, shape, 0.0, math.sqrt(scale) / 0.87962566103423978).astype(np.float32)
    if distribution == "normal":
        # What files that still write "normal" meant (TF.js, Keras before 2.2.3): truncated, without the correction.
        return _truncated_normal(rng, shape, 0.0, math.sqrt(scale)).astype(np.float32)
    if distribution == "untruncated_normal":
        return rng.normal(0.0, math.sqrt(scale), size=shape).astype(np.float32)
    raise ValueError("VarianceScaling distribution %r is unknown" % (distribution,))


def _orthogonal(rng, shape, gain):
    """Keras Orthogonal: the QR decomposition of a normal matrix of shape (prod(shape[:-1]), shape[-1])."""
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    a = rng.normal(0.0, 1.0, size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(np.float32)


def _keras_shape(model, torch_name, tensor, layout):
    """The Keras shape of a torch weight, undoing tfjs_to_torch's layout change."""
    s = tuple(tensor.shape)
    if layout == "dense":
        return s[::-1]
    if layout == "conv":
        return s[2:] + (s[1], s[0])
    if layout == "depthwise":
        groups = model.get_submodule(torch_name.rsplit(".", 1)[0]).groups
        return s[2:] + (groups, s[0] // groups)
    return s


def weight_rng(seed, keras_name):
    """The generator of one weight: the run seed and the weight's Keras name, nothing else."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(keras_name.encode("utf-8"))])


def keras_initialize(model, seed):
    """Gives every weight in model.KERAS_INIT ({Keras name: initializer, None for Keras's default}) its Keras initial
    value. Weights not listed (LaurelResidual's, which start as the paper says) keep the value their module gave
    them. Returns the names set."""
    targets = dict(model.named_parameters())
    targets.update(model.named_buffers())
    done = []
    with torch.no_grad():
        for keras_name, torch_name, layout in model.TFJS_WEIGHTS:
            if keras_name not in model.KERAS_INIT:
                continue
            init = model.KERAS_INIT[keras_name]
            if init is None:
                short = keras_name.rsplit("/", 1)[-1]
                if short not in DEFAULT_INITIALIZERS:
                    raise ValueError("%s: the layer config names no initializer and Keras has no default for %r" % (keras_name, short))
                init = DEFAULT_INITIALIZERS[short]
            target = targets[torch_name]
            value = initial_value(init, _keras_shape(model, torch_name, target, layout), weight_rng(seed, keras_name))
            target.copy_(tfjs_to_torch(value, layout))  # noqa: F821 (keras_layers.py, earlier in the same module)
            done.append(keras_name)
    return done
