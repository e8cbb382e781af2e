"""What the PyTorch training loop (laurel_train.py) does with a set-up Run (laurel_train_setup.py): one step alone or
as this rank's share of a global batch, validation, precise BatchNorm statistics, memory figures and the
best-validation checkpoint the test set is evaluated with.
"""
import math
import resource

import torch

from laurel_train_events import RANK, WORLD, num, rss_bytes
from laurel_train_inputs import call
from laurel_train_loss import logits, own_loss
from laurel_train_optim import lr_at


def autocast(r):
    return torch.autocast("cuda", dtype=torch.bfloat16) if r.bf16 else torch.autocast("cpu", enabled=False)


def step_once(r, step, xb, yb, weight=1.0):
    """One optimiser step; step: the steps taken so far (the 0-based index of this one). Returns (loss, acc or None)."""
    r.opt.zero_grad(set_to_none=True)
    with autocast(r):
        res = r.fwd(xb, yb) if r.pass_targets else call(r.fwd, xb)
    out = logits(res).float()  # the loss in float32 under bf16 autocast
    loss = own_loss(res) if r.model_loss else r.loss_f(out, yb)
    (loss * weight if weight != 1.0 else loss).backward()
    r.lr = lr_at(r.cfg, step, r.total_steps)
    for g in r.opt.param_groups:
        g["lr"] = r.lr
    if r.clip is not None:
        # After DDP's all-reduce: every rank clips the same averaged gradients.
        r.grad_norm = float(torch.nn.utils.clip_grad_norm_(r.model.parameters(), float(r.clip)))
    r.opt.step()
    acc = r.acc_f(out.detach(), yb) if r.acc_f else None
    return loss.item(), (acc.item() if acc is not None else None)


def step_shard(r, step, idx, stop_flag):
    """One global batch over the ranks: this rank's share, then the global mean loss/acc and whether any rank stops."""
    gn = idx.shape[0]
    mine = idx[RANK::WORLD]
    n = mine.shape[0]
    # Weighting the local mean by n * world / gn makes DDP's gradient average the global batch mean even when the
    # last batch splits unevenly; a rank with no sample steps on one with weight 0 (DDP needs every rank's backward).
    loss, acc = step_once(r, step, r.xt[mine if n else idx[:1]], r.yt[mine if n else idx[:1]], n * WORLD / gn)
    t = torch.tensor([loss * n if n else 0.0, (acc or 0.0) * n, float(n), 1.0 if stop_flag else 0.0], dtype=torch.float64, device=r.device)
    r.dist.all_reduce(t)
    return t[0].item() / gn, (t[1].item() / gn if acc is not None else None), t[3].item() > 0


def memory(r):
    if r.cuda:
        return {"numBytes": torch.cuda.memory_allocated(), "numTensors": len(r.model.state_dict()), "peakBytes": torch.cuda.max_memory_allocated()}
    return {"numBytes": rss_bytes(), "numTensors": len(r.model.state_dict()), "peakBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def validate(r, xv, yv):
    """(mean loss, mean accuracy or None) over xv, yv in eval mode; under DDP rank 0's figures on every rank."""
    model, bs = r.model, r.bs
    model.eval()
    tot = acc_tot = 0.0
    with torch.no_grad():
        for i in range(0, xv.shape[0], bs):
            xb, yb = xv[i:i + bs], yv[i:i + bs]
            with autocast(r):
                net_ = r.fwd if WORLD == 1 else model  # the bare module: no collectives
                res = net_(xb, yb) if r.pass_targets else call(net_, xb)
            out = logits(res).float()
            tot += (own_loss(res) if r.model_loss else r.loss_f(out, yb)).item() * xb.shape[0]
            if r.acc_f:
                acc_tot += r.acc_f(out, yb).item() * xb.shape[0]
    model.train()
    m = xv.shape[0]
    if WORLD > 1:
        # Rank 0's figures (its buffers are the ones DDP broadcasts and saves), so every rank takes the same decision.
        t = torch.tensor([tot / m, acc_tot / m], dtype=torch.float64, device=r.device)
        r.dist.broadcast(t, 0)
        tot, acc_tot = t[0].item() * m, t[1].item() * m
    return tot / m, (acc_tot / m if r.acc_f else None)


class PreciseBn:
    """BatchNorm's running statistics are an exponential average (Keras momentum 0.99: about the last 100 steps) of
    batch statistics taken under older weights; with Adam they lag the weights enough to swing validation accuracy
    by tens of points from seed to seed. So at each epoch end, before validating and saving, they are recomputed
    at the current weights: an equal-weight average over up to cfg["preciseBnSamples"] training samples (the
    "precise BN" of Wu & Johnson, 2021). The TF.js engine does the same (src/trainer/preciseBn.ts)."""

    def __init__(self, r):
        self.r = r
        self.bns = [m_ for m_ in r.model.modules() if isinstance(getattr(m_, "running_mean", None), torch.Tensor) and hasattr(m_, "momentum")]
        self.n = min(r.n_train, int(r.cfg.get("preciseBnSamples", 2048)))

    def __call__(self):
        r, bns = self.r, self.bns
        if not bns or self.n == 0:
            return
        saved_momentum = [b.momentum for b in bns]
        with torch.no_grad():
            for b in bns:
                b.running_mean.zero_()
                b.running_var.fill_(1.0)
            for i, start in enumerate(range(0, self.n, r.bs)):
                for b in bns:
                    b.momentum = 1.0 / (i + 1)  # torch's convention: the new batch's weight, so a plain mean
                with autocast(r):
                    call(r.model, r.xt[start:min(start + r.bs, self.n)])
        for b, mom in zip(bns, saved_momentum):
            b.momentum = mom


class BestCheckpoint:
    """The best-validation weights for the test set (src/trainer/bestCheckpoint.ts's rule): accuracy for a
    classifier, else loss; the earliest of equals. Kept only when the run has a test set."""

    def __init__(self, r):
        self.r = r
        self.by = "valAcc" if r.acc_f else "valLoss"
        self.value, self.epoch, self.state = None, 0, None

    def offer(self, epoch, vl, va):
        acc = self.r.acc_f is not None
        v = va if acc else vl
        if self.r.xs is None or v is None or not math.isfinite(v):
            return
        if self.value is not None and not (v > self.value if acc else v < self.value):
            return
        self.value, self.epoch = v, epoch
        self.state = {k: t.detach().clone() for k, t in self.r.model.state_dict().items()}

    def test(self, epochs_run):
        """The test set's figures with the best weights (the final ones when none was kept); the final weights stay."""
        model, own = self.r.model, None
        if self.state is not None:
            own = {k: t.detach().clone() for k, t in model.state_dict().items()}
            model.load_state_dict(self.state)
        tl, ta = validate(self.r, self.r.xs, self.r.ys)
        if own is not None:
            model.load_state_dict(own)  # the final weights are the ones saved
        return dict(loss=num(tl), acc=ta, epoch=self.epoch if own is not None else epochs_run, by=self.by if own is not None else "final")
