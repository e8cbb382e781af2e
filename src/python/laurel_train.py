"""LAuReL Studio's PyTorch training loop (mirrors the TF.js engine's model.fit).

The engine writes the generated module (laurel_model.py), this file and a launcher into one folder and runs
`python train.py config.json` (or torchrun with several processes): the launcher calls main(laurel_model, path).
It prints one JSON event per line on stdout: log, batchEnd (throttled), epochEnd, done. Errors go to stderr as a
traceback (exit code 1), preceded by one LAUREL_ERROR line per failing rank. Under torchrun (WORLD_SIZE > 1) every
rank trains its share of each global batch with DistributedDataParallel and only rank 0 prints events and saves.
"""
import json as _json
import math
import os as _os
import resource as _resource
import signal as _signal
import statistics
import sys as _sys
import threading as _threading
import time as _time

# torchrun sets these; a plain "python train.py" is rank 0 of 1.
_RANK = int(_os.environ.get("RANK", "0"))
_WORLD = int(_os.environ.get("WORLD_SIZE", "1"))
_LOCAL_RANK = int(_os.environ.get("LOCAL_RANK", "0"))

_EMIT_LOCK = _threading.Lock()


def _emit(event, **fields):
    if _RANK != 0:
        return  # one stream of events: the host reads rank 0's
    line = _json.dumps(dict(event=event, **fields)) + "\n"
    with _EMIT_LOCK:  # the heartbeat thread writes too: whole lines only
        _sys.stdout.write(line)
        _sys.stdout.flush()


def _heartbeat():
    # The host stops an engine that is silent for some seconds (a hung or foreign process): one line a second.
    # os.write, not sys.stdout: a daemon thread inside a buffered writer at exit aborts the interpreter.
    while _RANK == 0:
        with _EMIT_LOCK:
            _os.write(1, b'{"event": "alive"}\n')
        _time.sleep(1.0)


# Before torch is imported (seconds on a cold cache): the launcher imports this module first.
_threading.Thread(target=_heartbeat, daemon=True).start()

import numpy as np
import torch


def _num(v):
    """A float for JSON; non-finite values as the strings JavaScript's Number() reads back."""
    v = float(v)
    if math.isfinite(v):
        return v
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")


def _log(level, message):
    _emit("log", level=level, message=message)


class _DivergenceWatch:
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


def _rss_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _loss_fn(name):
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


def _acc_fn(name):
    if name == "binaryCrossentropy":
        return lambda p, y: ((p > 0.5) == (y > 0.5)).float().mean()
    if name in ("categoricalCrossentropy", "softmaxCrossEntropyFromLogits"):
        return lambda p, y: (p.argmax(-1) == y.argmax(-1)).float().mean()
    if name == "tokenCrossEntropy":
        return lambda p, y: (p.argmax(-1) == y).float().mean()
    return None


_LAUREL_SCALARS = ("rw_logits", "rw_theta", "pa_gamma")


def _decay_kind(module_class, name):
    """src/trainer/optimizerOptions.ts's decayKind: 'norm', 'bias', 'laurel' or None (decayed)."""
    if "norm" in module_class.lower() or name == "gemma_norm_scale":
        return "norm"
    if name == "bias" or name.endswith("_bias"):
        return "bias"
    if name in _LAUREL_SCALARS:
        return "laurel"
    return None


def _param_groups(model, cfg):
    """AdamW's two groups: decayed weights, and the kinds cfg["noDecay"] leaves alone (default all three)."""
    skip = set(cfg.get("noDecay", ["bias", "norm", "laurel"]))
    decay, keep, seen = [], [], set()
    for mod in model.modules():
        for name, p in mod.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            kind = _decay_kind(type(mod).__name__, name)
            (keep if kind is not None and kind in skip else decay).append(p)
    wd = float(cfg.get("weightDecay", 0.01))
    return [{"params": decay, "weight_decay": wd}, {"params": keep, "weight_decay": 0.0}]


def _lr_at(cfg, step, total):
    """src/trainer/optimizerOptions.ts's lrAt: constant, or linear warm-up then half a cosine to 0."""
    lr = float(cfg["learningRate"])
    if cfg.get("lrSchedule", "constant") == "constant":
        return lr
    w = min(int(cfg.get("warmupSteps", 0)), total)
    if step < w:
        return lr * (step + 1) / w
    span = max(1, total - w)
    return lr * 0.5 * (1 + math.cos(math.pi * min(step - w, span) / span))


def _optimizer(name, params, lr, cfg=None, model=None):
    # TF.js defaults: adam (0.9, 0.999, eps 1e-7), rmsprop (decay 0.9, eps 1e-7), plain sgd.
    if name == "adamw":
        # torch's AdamW decays p by lr * wd before the Adam step, as the TF.js engine's ResearchOptimizer does.
        return torch.optim.AdamW(_param_groups(model, cfg or {}), lr=lr, betas=(0.9, 0.999), eps=1e-7)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-7)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    raise ValueError("unknown optimizer %r" % name)


def _takes_targets(model):
    import inspect
    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return False
    return len(params) >= 2 and all(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params[:2])


def _logits(out):
    """A model's output, or the first element of a (logits, loss) pair."""
    return out[0] if isinstance(out, (tuple, list)) else out


def _own_loss(out):
    """The loss of a forward's (logits, loss) pair (loss=model)."""
    if not (isinstance(out, (tuple, list)) and len(out) >= 2 and isinstance(out[1], torch.Tensor) and out[1].numel() == 1):
        raise ValueError("loss=model: the forward returned %s, not a (logits, loss) pair with a scalar loss" % type(out).__name__)
    return out[1].float().reshape(())


def _train(cfg, module):
    stop = {"why": None}

    def on_sigint(signum, frame):
        stop["why"] = "SIGINT"

    _signal.signal(_signal.SIGINT, on_sigint)
    if _WORLD > 1:
        # torchrun passes a signal it gets on to the workers as SIGTERM: stop at the next batch and save, as for SIGINT.
        _signal.signal(_signal.SIGTERM, on_sigint)
    if cfg.get("watchStdin"):
        # The host closes stdin to cancel, and a host that dies closes it too: stop at the next batch.
        def watch():
            try:
                # os.read on the fd, not sys.stdin: a daemon thread blocked inside a buffered reader aborts
                # the interpreter at exit (it cannot take the reader's lock).
                while _os.read(0, 65536):
                    pass
            except Exception:
                pass
            if stop["why"] is None:
                stop["why"] = "stdin closed"

        _threading.Thread(target=watch, daemon=True).start()

    if cfg.get("threads"):
        torch.set_num_threads(int(cfg["threads"]))
    torch.manual_seed(int(cfg["seed"]))
    want = cfg.get("device", "auto")
    cuda = torch.cuda.is_available() and want != "cpu"
    dist, dist_backend = None, None
    if _WORLD > 1:
        if int(cfg["batchSize"]) % _WORLD:
            raise ValueError("batch size %d cannot be split over %d processes: use a batch size divisible by %d" % (int(cfg["batchSize"]), _WORLD, _WORLD))
        import torch.distributed as dist
        dist_backend = "nccl" if cuda else "gloo"
        if cuda:
            torch.cuda.set_device(_LOCAL_RANK)
        dist.init_process_group(dist_backend)
    device = torch.device(("cuda:%d" % _LOCAL_RANK if _WORLD > 1 else "cuda") if cuda else "cpu")
    bf16 = cuda and cfg.get("bf16", True) and torch.cuda.is_bf16_supported()

    model = getattr(module, cfg["className"])()
    # A language model whose forward takes the targets (nanoGPT, minGPT: forward(idx, targets=None)) returns
    # the logits of every position only when given them; it is called so, and its (logits, loss) pair is read.
    # loss=model (a `# laurel:` option of a .py source): train on the loss the forward returns with the targets.
    model_loss = bool(cfg.get("modelLoss"))
    pass_targets = (cfg["loss"] == "tokenCrossEntropy" or model_loss) and _takes_targets(model)
    if model_loss and not pass_targets:
        raise ValueError("loss=model: %s.forward takes no targets argument, so it returns no loss of its own; use loss=cross_entropy" % type(model).__name__)
    if cfg.get("weights"):
        # The TF.js engine's seeded initial weights: both engines start from the same point.
        blob = np.fromfile(cfg["weights"]["bin"], dtype=np.float32)
        arrays = {n: blob[e["offset"]:e["offset"] + int(np.prod(e["shape"]))].reshape(e["shape"]) for n, e in cfg["weights"]["manifest"].items()}
        module.load_tfjs_weights(model, arrays, strict=True)
    elif cfg.get("kerasInit"):
        # The Keras initializers the file names, one generator per weight from the run seed and its name.
        module.keras_initialize(model, int(cfg["seed"]))
    model.to(device)

    x = torch.from_numpy(np.load(cfg["x"])).to(device)
    y = torch.from_numpy(np.load(cfg["y"])).to(device)
    if cfg["loss"] == "tokenCrossEntropy":
        x, y = x.long(), y.long()  # token ids (exact in float32 below 2^24)
    elif model_loss:
        y = y.long()  # class indices, as a model's own cross-entropy takes them
    if cfg.get("pySource") and any(p.numel() == 0 for p in model.parameters()):
        # LaurelResidual (and torch's Lazy modules) take their D-sized weights at the first call. DDP sizes its
        # gradient buckets and torch.compile its graph from the parameters as they are, so one forward pass on
        # one training sample (eval mode, no gradient: BatchNorm statistics and the RNG stay as they were) fills
        # them first, on every rank alike.
        model.eval()
        with torch.no_grad():
            model(x[:1])
        model.train()
    if _WORLD > 1:
        # DDP's constructor checks and broadcasts the parameters in calls that may hold the GIL (rank 0's heartbeat
        # thread then stops): wait for the slower ranks in a barrier, which releases it, first.
        dist.barrier()
    # DDP averages the gradients over the ranks; "model" stays the bare module (saved, validated, counted).
    net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[_LOCAL_RANK] if cuda else None) if _WORLD > 1 else model
    order = np.load(cfg["order"]) if cfg.get("order") else None
    n = x.shape[0]
    n_train = int(cfg["trainSamples"])
    xt, yt, xv, yv = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    xs = ys = None
    if cfg.get("test"):
        # The held-out test set: evaluated once, after training, by the best-validation checkpoint.
        xs, ys = torch.from_numpy(np.load(cfg["test"]["x"])).to(device), torch.from_numpy(np.load(cfg["test"]["y"])).to(device)
        if cfg["loss"] == "tokenCrossEntropy":
            xs, ys = xs.long(), ys.long()
        elif model_loss:
            ys = ys.long()
    model.eval()
    adapted = module.adapt_normalization(model, lambda: ((xt[i:i + 256],) for i in range(0, n_train, 256)))
    if adapted:
        # Keras's Normalization.adapt(data): the file gives no mean / variance, so the training data decide them.
        _log("info", "Normalization %s: mean and variance adapted on the %d training samples (the file has none)" % (", ".join(adapted), n_train))
    model.train()
    bs, epochs, max_steps = int(cfg["batchSize"]), int(cfg["epochs"]), cfg.get("maxSteps")
    per_epoch = -(-n_train // bs)
    loss_f, acc_f = _loss_fn(cfg["loss"]), _acc_fn(cfg["loss"])
    if model_loss:
        acc_f = _acc_fn("tokenCrossEntropy")  # argmax against class or token indices
    opt = _optimizer(cfg["optimizer"], model.parameters(), float(cfg["learningRate"]), cfg, model)
    total_steps = epochs * per_epoch if max_steps is None else min(int(max_steps), epochs * per_epoch)
    clip = cfg.get("clipNorm")
    last = {"lr": float(cfg["learningRate"]), "norm": None}
    throttle = float(cfg.get("throttleMs", 1000)) / 1000.0

    fwd, compiled, compile_note = net, False, None
    want_compile = cfg.get("compile", "auto")
    if want_compile is True or (want_compile == "auto" and cuda):
        if hasattr(torch, "compile"):
            fwd, compiled = torch.compile(net), True
        else:
            compile_note = "torch %s has no torch.compile" % torch.__version__
    elif want_compile == "auto":
        compile_note = "not on the CPU (compiling takes longer than a short CPU run saves)"

    def autocast():
        return torch.autocast("cuda", dtype=torch.bfloat16) if bf16 else torch.autocast("cpu", enabled=False)

    def step_once(xb, yb, weight=1.0):
        opt.zero_grad(set_to_none=True)
        with autocast():
            res = fwd(xb, yb) if pass_targets else fwd(xb)
        out = _logits(res).float()  # the loss in float32 under bf16 autocast
        loss = _own_loss(res) if model_loss else loss_f(out, yb)
        (loss * weight if weight != 1.0 else loss).backward()
        last["lr"] = _lr_at(cfg, step, total_steps)  # step: the steps taken so far (0-based index of this one)
        for g in opt.param_groups:
            g["lr"] = last["lr"]
        if clip is not None:
            # After DDP's all-reduce: every rank clips the same averaged gradients.
            last["norm"] = float(torch.nn.utils.clip_grad_norm_(model.parameters(), float(clip)))
        opt.step()
        acc = acc_f(out.detach(), yb) if acc_f else None
        return loss.item(), (acc.item() if acc is not None else None)

    def step_shard(idx, stop_flag):
        """One global batch over the ranks: this rank's share, then the global mean loss/acc and whether any rank stops."""
        gn = idx.shape[0]
        mine = idx[_RANK::_WORLD]
        n = mine.shape[0]
        # Weighting the local mean by n * world / gn makes DDP's gradient average the global batch mean even when the
        # last batch splits unevenly; a rank with no sample steps on one with weight 0 (DDP needs every rank's backward).
        loss, acc = step_once(xt[mine if n else idx[:1]], yt[mine if n else idx[:1]], n * _WORLD / gn)
        t = torch.tensor([loss * n if n else 0.0, (acc or 0.0) * n, float(n), 1.0 if stop_flag else 0.0], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return t[0].item() / gn, (t[1].item() / gn if acc is not None else None), t[3].item() > 0

    def memory():
        if cuda:
            return {"numBytes": torch.cuda.memory_allocated(), "numTensors": len(model.state_dict()), "peakBytes": torch.cuda.max_memory_allocated()}
        return {"numBytes": _rss_bytes(), "numTensors": len(model.state_dict()), "peakBytes": _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss * 1024}

    def validate(xv=xv, yv=yv):
        model.eval()
        tot = acc_tot = 0.0
        with torch.no_grad():
            for i in range(0, xv.shape[0], bs):
                xb, yb = xv[i:i + bs], yv[i:i + bs]
                with autocast():
                    net_ = fwd if _WORLD == 1 else model  # the bare module: no collectives
                    res = net_(xb, yb) if pass_targets else net_(xb)
                out = _logits(res).float()
                tot += (_own_loss(res) if model_loss else loss_f(out, yb)).item() * xb.shape[0]
                if acc_f:
                    acc_tot += acc_f(out, yb).item() * xb.shape[0]
        model.train()
        m = xv.shape[0]
        if _WORLD > 1:
            # Rank 0's figures (its buffers are the ones DDP broadcasts and saves), so every rank takes the same decision.
            t = torch.tensor([tot / m, acc_tot / m], dtype=torch.float64, device=device)
            dist.broadcast(t, 0)
            tot, acc_tot = t[0].item() * m, t[1].item() * m
        return tot / m, (acc_tot / m if acc_f else None)

    # BatchNorm's running statistics are an exponential average (Keras momentum 0.99: about the last 100 steps) of
    # batch statistics taken under older weights; with Adam they lag the weights enough to swing validation accuracy
    # by tens of points from seed to seed. So at each epoch end, before validating and saving, they are recomputed
    # at the current weights: an equal-weight average over up to PRECISE_BN_SAMPLES training samples (the
    # "precise BN" of Wu & Johnson, 2021). The TF.js engine does the same (src/trainer/preciseBn.ts).
    bns = [m_ for m_ in model.modules() if isinstance(getattr(m_, "running_mean", None), torch.Tensor) and hasattr(m_, "momentum")]
    precise_n = min(n_train, int(cfg.get("preciseBnSamples", 2048)))

    def precise_bn():
        if not bns or precise_n == 0:
            return
        saved_momentum = [b.momentum for b in bns]
        with torch.no_grad():
            for b in bns:
                b.running_mean.zero_()
                b.running_var.fill_(1.0)
            for i, start in enumerate(range(0, precise_n, bs)):
                for b in bns:
                    b.momentum = 1.0 / (i + 1)  # torch's convention: the new batch's weight, so a plain mean
                with autocast():
                    model(xt[start:min(start + bs, precise_n)])
        for b, mom in zip(bns, saved_momentum):
            b.momentum = mom

    _log("info", "pytorch %s on %s%s%s%s" % (torch.__version__, torch.cuda.get_device_name(0) if cuda else "cpu (%d threads)" % torch.get_num_threads(),
                                             ", bf16 autocast" if bf16 else ", float32", ", torch.compile" if compiled else "",
                                             ", %d processes (DDP, %s), %d samples each per batch" % (_WORLD, dist_backend, bs // _WORLD) if _WORLD > 1 else ""))
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    status, message, budget_hit = "completed", None, False
    watch = _DivergenceWatch(cfg.get("divergence"))
    step, first_step_ms, step_times, timed_samples = 0, None, [], 0
    seen_shapes, last_emit, t_train = set(), -1e18, _time.perf_counter()
    epochs_out = []
    # The best-validation checkpoint for the test set (src/trainer/bestCheckpoint.ts's rule): accuracy for a
    # classifier, else loss; the earliest of equals.
    best = {"by": "valAcc" if acc_f else "valLoss", "value": None, "epoch": 0, "state": None}

    def offer_best(epoch, vl, va):
        v = va if acc_f else vl
        if xs is None or v is None or not math.isfinite(v):
            return
        if best["value"] is not None and not (v > best["value"] if acc_f else v < best["value"]):
            return
        best.update(value=v, epoch=epoch, state={k: t.detach().clone() for k, t in model.state_dict().items()})

    rng = np.random.default_rng(int(cfg["seed"]))
    # Distributed: a rank stops only when the all-reduced flag says so, so every rank leaves at the same batch.
    synced_stop = False

    def stopping():
        return synced_stop if _WORLD > 1 else stop["why"] is not None

    for epoch in range(epochs):
        if stopping() and status == "completed":
            status, message = "cancelled", stop["why"] or "stopped by another process"
        if status != "completed" or budget_hit:
            break
        perm = order[epoch] if order is not None else rng.permutation(n_train)
        perm = torch.from_numpy(np.ascontiguousarray(perm, dtype=np.int64)).to(device)
        t_epoch = _time.perf_counter()
        loss_sum = acc_sum = 0.0
        batches = samples = e_timed_samples = 0
        e_times, e_all_ms = [], 0.0
        for b in range(per_epoch):
            if stopping():
                status, message = "cancelled", stop["why"] or "stopped by another process"
                break
            idx = perm[b * bs:(b + 1) * bs]
            xb, yb = xt[idx], yt[idx]
            t0 = _time.perf_counter()
            try:
                if _WORLD > 1:
                    loss, acc, synced_stop = step_shard(idx, stop["why"] is not None)
                else:
                    loss, acc = step_once(xb, yb)
            except Exception as e:
                if not compiled or step > 0:
                    raise
                # torch.compile failed on the first step: train eagerly (the step had not reached opt.step()).
                compile_note = "torch.compile failed, running eagerly: %s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
                _log("warn", compile_note)
                fwd, compiled = net, False
                t0 = _time.perf_counter()
                if _WORLD > 1:
                    loss, acc, synced_stop = step_shard(idx, stop["why"] is not None)
                else:
                    loss, acc = step_once(xb, yb)
            ms = (_time.perf_counter() - t0) * 1000.0
            size = xb.shape[0]
            step += 1
            batches += 1
            samples += size
            e_all_ms += ms
            shape = tuple(xb.shape)
            if step == 1:
                first_step_ms = ms
            if shape not in seen_shapes:
                seen_shapes.add(shape)  # the first step of a batch shape warms up (and compiles): not timed
            else:
                step_times.append(ms)
                e_times.append(ms)
                timed_samples += size
                e_timed_samples += size
            if math.isfinite(loss):
                loss_sum += loss * size
                if acc is not None:
                    acc_sum += acc * size
            now = _time.perf_counter()
            if now - last_emit >= throttle or step == 1:
                last_emit = now
                sps = e_timed_samples / sum(e_times) * 1000.0 if e_times else samples / e_all_ms * 1000.0
                ev = dict(epoch=epoch + 1, batch=b, batchesPerEpoch=per_epoch, step=step, loss=_num(loss), samplesPerSec=sps)
                if acc is not None:
                    ev["acc"] = acc
                _emit("batchEnd", **ev)
            if not math.isfinite(loss):
                status = "diverged"
                message = "loss became %s at epoch %d, batch %d of %d (step %d)" % (_num(loss), epoch + 1, b + 1, per_epoch, step)
                break
            diverging = watch.step(step, loss)
            if diverging:
                status = "diverged"
                message = "%s (epoch %d, batch %d of %d)" % (diverging, epoch + 1, b + 1, per_epoch)
                break
            if max_steps is not None and step >= int(max_steps):
                budget_hit = True
                break
        if batches == 0:
            break
        timed = len(e_times) > 0
        ms_sum = sum(e_times) if timed else e_all_ms
        m = {
            "epoch": epoch + 1,
            "loss": _num(loss_sum / samples) if status != "diverged" else _num(float("nan")),
            "batches": batches,
            "samples": samples,
            "samplesPerSec": (e_timed_samples if timed else samples) / ms_sum * 1000.0 if ms_sum > 0 else 0.0,
            "stepMs": statistics.median(e_times) if timed else e_all_ms / batches,
        }
        if acc_f:
            m["acc"] = acc_sum / samples
        if status != "diverged":
            precise_bn()
        if status == "completed" and xv.shape[0] > 0:
            vl, va = validate()
            m["valLoss"] = _num(vl)
            if va is not None:
                m["valAcc"] = va
            if not math.isfinite(vl):
                status, message = "diverged", "validation loss became %s at epoch %d" % (_num(vl), epoch + 1)
            else:
                offer_best(epoch + 1, vl, va)
        m["lr"] = last["lr"]
        m["seconds"] = _time.perf_counter() - t_epoch
        m["memory"] = memory()
        epochs_out.append(m)
        _emit("epochEnd", **m)
    train_ms = (_time.perf_counter() - t_train) * 1000.0

    test = None
    if xs is not None and status != "diverged" and epochs_out:
        own = None
        if best["state"] is not None:
            own = {k: t.detach().clone() for k, t in model.state_dict().items()}
            model.load_state_dict(best["state"])
        tl, ta = validate(xs, ys)
        if own is not None:
            model.load_state_dict(own)  # the final weights are the ones saved
        test = dict(loss=_num(tl), acc=ta, epoch=best["epoch"] if own is not None else len(epochs_out), by=best["by"] if own is not None else "final")

    t_save = _time.perf_counter()
    saved = None
    if cfg.get("stateDict") and status != "diverged" and _RANK == 0:
        tmp = cfg["stateDict"] + ".tmp"
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
        _os.replace(tmp, cfg["stateDict"])
        saved = cfg["stateDict"]
    step_sum = sum(step_times)
    _emit(
        "done",
        status=status,
        message=message,
        budgetHit=budget_hit,
        epochs=epochs_out,
        steps=step,
        stepMs=statistics.median(step_times) if step_times else first_step_ms,
        samplesPerSec=(timed_samples / step_sum * 1000.0) if step_sum > 0 else None,
        peakBytes=memory()["peakBytes"],
        firstStepMs=first_step_ms,
        trainMs=train_ms,
        saveMs=(_time.perf_counter() - t_save) * 1000.0,
        stateDict=saved,
        params={"total": module.count_weights(model),
                "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad)},
        device="cuda" if cuda else "cpu",
        precision="bf16-autocast" if bf16 else "float32",
        compiled=compiled,
        compileNote=compile_note,
        threads=torch.get_num_threads(),
        processes=_WORLD,
        distBackend=dist_backend,
        test=test,
    )
    if dist is not None:
        dist.destroy_process_group()


def main(module, config_path):
    """Trains module's model class as the JSON config at config_path says."""
    with open(config_path) as f:
        cfg = _json.load(f)
    try:
        _train(cfg, module)
    except Exception as e:
        # One tagged line per failing rank, with the time: the host names the first failure (the cause), not the
        # ranks that fell after it in a collective. The traceback follows, as usual.
        import traceback as _tb
        _sys.stderr.write("LAUREL_ERROR " + _json.dumps({"rank": _RANK, "time": _time.time(), "error": _tb.format_exception_only(type(e), e)[-1].strip()}) + "\n")
        _sys.stderr.flush()
        raise
