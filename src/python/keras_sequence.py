"""Keras sequence layers in PyTorch: MultiHeadAttention, SimpleRNN / GRU / LSTM, Bidirectional, TimeDistributed.

A section of the generated module (after keras_layers.py). Weights keep Keras's names and shapes (layout 'copy'),
so TF.js / Keras weights load as they are and the Keras initializers see Keras's fans. Tensors are [batch, time,
features] as in Keras.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def _glorot_(t):
    """Glorot-uniform with Keras's fans (the last two axes times the rest), so a module works without Keras weights."""
    shape = t.shape
    rf = math.prod(shape[:-2]) if len(shape) > 2 else 1
    fan_in, fan_out = (shape[-2] * rf, shape[-1] * rf) if len(shape) > 1 else (shape[0], shape[0])
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        return t.uniform_(-limit, limit)


class MultiHeadAttentionTF(nn.Module):
    """Keras MultiHeadAttention: per-head EinsumDense projections of query, key and value (kernels [D, heads, dim],
    biases [heads, dim]), scaled dot products softmaxed over the key positions (attention probabilities dropped out
    while training), and the output projection [heads, value_dim, *output_shape]. Attention runs over every axis
    between the batch and the features (Keras's default attention_axes; the sequence axis of [B, T, D])."""

    def __init__(self, query_dim, key_in, value_in, num_heads, key_dim, value_dim=None, output_shape=None, use_bias=True, dropout=0.0, causal=False):
        super().__init__()
        value_dim = value_dim or key_dim
        self.num_heads, self.key_dim, self.value_dim, self.dropout, self.causal = num_heads, key_dim, value_dim, dropout, causal
        self.out_shape = tuple(output_shape) if output_shape else (query_dim,)
        for name, d_in, d in (("query", query_dim, key_dim), ("key", key_in, key_dim), ("value", value_in, value_dim)):
            setattr(self, name + "_kernel", nn.Parameter(_glorot_(torch.empty(d_in, num_heads, d))))
            setattr(self, name + "_bias", nn.Parameter(torch.zeros(num_heads, d)) if use_bias else None)
        self.output_kernel = nn.Parameter(_glorot_(torch.empty(num_heads, value_dim, *self.out_shape)))
        self.output_bias = nn.Parameter(torch.zeros(self.out_shape)) if use_bias else None

    def _project(self, x, name):
        y = torch.einsum("btd,dhk->bthk", x, getattr(self, name + "_kernel"))
        bias = getattr(self, name + "_bias")
        return y if bias is None else y + bias

    def forward(self, query, value, key=None, attention_mask=None, query_mask=None, value_mask=None, key_mask=None, use_causal_mask=False):
        key = value if key is None else key
        b, q_shape = query.shape[0], query.shape
        q = self._project(query.reshape(b, -1, query.shape[-1]), "query") * (1.0 / math.sqrt(self.key_dim))
        k = self._project(key.reshape(b, -1, key.shape[-1]), "key")
        v = self._project(value.reshape(b, -1, value.shape[-1]), "value")
        scores = torch.einsum("bshk,bthk->bhts", k, q)
        mask = self._mask(scores, attention_mask, query_mask, value_mask, key_mask, use_causal_mask or self.causal)
        if mask is not None:
            # Keras's masked softmax adds -1e9 where the mask is 0 (not a fill: a fully masked row comes out as in Keras).
            scores = scores + (~mask).to(scores.dtype) * -1e9
        probs = F.dropout(torch.softmax(scores, dim=-1), self.dropout, self.training)
        o = torch.einsum("bhts,bshv->bthv", probs, v)
        out = torch.einsum("bthv,hvo->bto", o, self.output_kernel.reshape(self.num_heads, self.value_dim, -1))
        if self.output_bias is not None:
            out = out + self.output_bias.reshape(-1)
        return out.reshape(*q_shape[:-1], *self.out_shape)

    @staticmethod
    def _mask(scores, attention_mask, query_mask, value_mask, key_mask, causal):
        """Keras's _compute_attention_mask: query_mask [B, T] as [B, T, 1], value / key masks [B, S] as [B, 1, S],
        the causal lower triangle, and attention_mask [B, T, S] (1 where a query may attend), all and-ed; returned
        as [B, 1, T, S] for the heads, or None."""
        b, t, s = scores.shape[0], scores.shape[-2], scores.shape[-1]
        parts = []
        if query_mask is not None:
            parts.append(query_mask.reshape(b, t, 1).bool())
        for m in (value_mask, key_mask):
            if m is not None:
                parts.append(m.reshape(b, 1, s).bool())
        if causal:
            parts.append(torch.ones(t, s, dtype=torch.bool, device=scores.device).tril().unsqueeze(0))
        if attention_mask is not None:
            am = attention_mask.bool()
            parts.append(am if am.dim() == 3 else am.reshape(am.shape[0], t, s))
        if not parts:
            return None
        mask = parts[0]
        for p in parts[1:]:
            mask = mask & p
        return mask.unsqueeze(1)


_GATES = {"simple_rnn": 1, "gru": 3, "lstm": 4}


class RecurrentTF(nn.Module):
    """Keras SimpleRNN, GRU (reset_after either way) and LSTM over [B, T, F], Keras's weights and gate order
    (LSTM i, f, c, o; GRU z, r, h): kernel [F, g u], recurrent_kernel [u, g u], bias [g u] (GRU reset_after: [2, g u]).
    go_backwards reads the sequence from its end and returns the outputs in that order, as Keras does. dropout and
    recurrent_dropout use one mask per sequence (on the inputs and on the carried state)."""

    def __init__(self, cell, input_dim, units, activation=torch.tanh, recurrent_activation=torch.sigmoid, use_bias=True, return_sequences=False,
                 return_state=False, go_backwards=False, reset_after=False, dropout=0.0, recurrent_dropout=0.0):
        super().__init__()
        g = _GATES[cell]
        self.cell, self.units, self.act, self.rec_act = cell, units, activation, recurrent_activation
        self.return_sequences, self.return_state, self.go_backwards = return_sequences, return_state, go_backwards
        self.reset_after, self.dropout, self.recurrent_dropout = reset_after and cell == "gru", dropout, recurrent_dropout
        self.kernel = nn.Parameter(_glorot_(torch.empty(input_dim, g * units)))
        rec = torch.empty(units, g * units)
        for i in range(g):
            nn.init.orthogonal_(rec[:, i * units:(i + 1) * units])
        self.recurrent_kernel = nn.Parameter(rec)
        self.bias = nn.Parameter(torch.zeros((2, g * units) if self.reset_after else (g * units,))) if use_bias else None

    def _mask(self, like, rate):
        if not self.training or rate == 0:
            return None
        return (torch.rand_like(like) >= rate).to(like.dtype) / (1.0 - rate)

    def forward(self, x, initial_state=None):
        # initial_state: Keras's [h] (SimpleRNN, GRU) or [h, c] (LSTM); zeros otherwise.
        b, t = x.shape[0], x.shape[1]
        u = self.units
        if self.go_backwards:
            x = x.flip(1)
        m = self._mask(x[:, 0], self.dropout)
        xs = torch.matmul(x if m is None else x * m.unsqueeze(1), self.kernel)
        in_bias = rec_bias = None
        if self.bias is not None:
            in_bias, rec_bias = (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)
            xs = xs + in_bias
        h = x.new_zeros(b, u) if not initial_state else initial_state[0]
        c = x.new_zeros(b, u) if not initial_state or len(initial_state) < 2 else initial_state[1]
        rm = self._mask(h, self.recurrent_dropout)
        outs = []
        for i in range(t):
            xi, hd = xs[:, i], (h if rm is None else h * rm)
            if self.cell == "simple_rnn":
                h = self.act(xi + torch.matmul(hd, self.recurrent_kernel))
            elif self.cell == "lstm":
                z = xi + torch.matmul(hd, self.recurrent_kernel)
                gi, gf, gc, go = z.split(u, dim=-1)
                c = self.rec_act(gf) * c + self.rec_act(gi) * self.act(gc)
                h = self.rec_act(go) * self.act(c)
            else:
                xz, xr, xh = xi.split(u, dim=-1)
                if self.reset_after:
                    inner = torch.matmul(hd, self.recurrent_kernel)
                    if rec_bias is not None:
                        inner = inner + rec_bias
                    rz, rr, rh = inner.split(u, dim=-1)
                    z, r = self.rec_act(xz + rz), self.rec_act(xr + rr)
                    hh = self.act(xh + r * rh)
                else:
                    wz, wr, wh = self.recurrent_kernel.split(u, dim=-1)
                    z, r = self.rec_act(xz + torch.matmul(hd, wz)), self.rec_act(xr + torch.matmul(hd, wr))
                    hh = self.act(xh + torch.matmul(r * hd, wh))
                h = z * h + (1 - z) * hh
            if self.return_sequences:
                outs.append(h)
        out = torch.stack(outs, 1) if self.return_sequences else h
        if not self.return_state:
            return out
        return (out, h, c) if self.cell == "lstm" else (out, h)


class BidirectionalTF(nn.Module):
    """Keras Bidirectional: the forward layer and a backward one (go_backwards flipped, its own weights); the backward
    sequence output is flipped back in time; merge_mode concat / sum / mul / ave, or None for both outputs. With
    return_state: the merged output(s), then the forward states, then the backward states."""

    def __init__(self, forward_layer, backward_layer, merge_mode="concat"):
        super().__init__()
        self.forward_layer, self.backward_layer, self.merge_mode = forward_layer, backward_layer, merge_mode

    def forward(self, x, initial_state=None):
        # Keras splits initial_state in half: the forward layer's states, then the backward layer's.
        half = len(initial_state) // 2 if initial_state else 0
        f = self.forward_layer(x, initial_state[:half] if half else None)
        bk = self.backward_layer(x, initial_state[half:] if half else None)
        states = isinstance(f, tuple)
        yf, yb = (f[0], bk[0]) if states else (f, bk)
        if self.backward_layer.return_sequences:
            yb = yb.flip(1)
        if self.merge_mode == "concat":
            y = (torch.cat([yf, yb], dim=-1),)
        elif self.merge_mode == "sum":
            y = (yf + yb,)
        elif self.merge_mode == "mul":
            y = (yf * yb,)
        elif self.merge_mode == "ave":
            y = ((yf + yb) / 2,)
        else:
            y = (yf, yb)
        if states:
            return y + tuple(f[1:]) + tuple(bk[1:])
        return y if len(y) > 1 else y[0]


def time_distributed(x, fn):
    """Keras TimeDistributed: fn on every time step of [B, T, ...], as one batch of B * T."""
    b, t = x.shape[0], x.shape[1]
    y = fn(x.reshape(b * t, *x.shape[2:]))
    return y.reshape(b, t, *y.shape[1:])
