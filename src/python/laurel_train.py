"""LAuReL Studio's PyTorch training loop (mirrors the TF.js engine's model.fit).

The engine writes the generated module (laurel_model.py), this file, the laurel_train_*.py files it imports and a
launcher into one folder and runs `python train.py config.json` (or torchrun with several processes): the launcher
calls main(laurel_model, path). It prints one JSON event per line on stdout: log, batchEnd (throttled), epochEnd,
done. Errors go to stderr as a traceback (exit code 1), preceded by one LAUREL_ERROR line per failing rank. Under
torchrun (WORLD_SIZE > 1) every rank trains its share of each global batch with DistributedDataParallel and only
rank 0 prints events and saves.
"""
# First: it starts the heartbeat before torch is imported (seconds on a cold cache).
from laurel_train_events import RANK, WORLD, emit, log, num

import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch

from laurel_train_loss import DivergenceWatch
from laurel_train_setup import Run
from laurel_train_steps import BestCheckpoint, PreciseBn, memory, step_once, step_shard, validate


def _train(cfg, module):
    r = Run(cfg, module)
    model, stop, bs, per_epoch, max_steps, xt, yt = r.model, r.stop, r.bs, r.per_epoch, r.max_steps, r.xt, r.yt
    precise_bn = PreciseBn(r)
    log("info", "pytorch %s on %s%s%s%s" % (torch.__version__, torch.cuda.get_device_name(0) if r.cuda else "cpu (%d threads)" % torch.get_num_threads(),
                                            ", bf16 autocast" if r.bf16 else ", float32", ", torch.compile" if r.compiled else "",
                                            ", %d processes (DDP, %s), %d samples each per batch" % (WORLD, r.dist_backend, bs // WORLD) if WORLD > 1 else ""))
    if r.cuda:
        torch.cuda.reset_peak_memory_stats()
    status, message, budget_hit = "completed", None, False
    watch = DivergenceWatch(cfg.get("divergence"))
    step, first_step_ms, step_times, timed_samples = 0, None, [], 0
    seen_shapes, last_emit, t_train = set(), -1e18, time.perf_counter()
    epochs_out = []
    best = BestCheckpoint(r)
    rng = np.random.default_rng(int(cfg["seed"]))
    # Distributed: a rank stops only when the all-reduced flag says so, so every rank leaves at the same batch.
    synced_stop = False

    def stopping():
        return synced_stop if WORLD > 1 else stop["why"] is not None

    def one_step(idx, xb, yb):
        """(loss, acc or None, whether any rank stops); step: the steps taken so far."""
        if WORLD > 1:
            return step_shard(r, step, idx, stop["why"] is not None)
        loss, acc = step_once(r, step, xb, yb)
        return loss, acc, False

    for epoch in range(r.epochs):
        if stopping() and status == "completed":
            status, message = "cancelled", stop["why"] or "stopped by another process"
        if status != "completed" or budget_hit:
            break
        perm = r.order[epoch] if r.order is not None else rng.permutation(r.n_train)
        perm = torch.from_numpy(np.ascontiguousarray(perm, dtype=np.int64)).to(r.device)
        t_epoch = time.perf_counter()
        loss_sum = acc_sum = 0.0
        batches = samples = e_timed_samples = 0
        e_times, e_all_ms = [], 0.0
        for b in range(per_epoch):
            if stopping():
                status, message = "cancelled", stop["why"] or "stopped by another process"
                break
            idx = perm[b * bs:(b + 1) * bs]
            xb, yb = xt[idx], yt[idx]
            t0 = time.perf_counter()
            try:
                loss, acc, synced_stop = one_step(idx, xb, yb)
            except Exception as e:
                if not r.compiled or step > 0:
                    raise
                # torch.compile failed on the first step: train eagerly (the step had not reached opt.step()).
                r.eager("torch.compile failed, running eagerly: %s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
                t0 = time.perf_counter()
                loss, acc, synced_stop = one_step(idx, xb, yb)
            ms = (time.perf_counter() - t0) * 1000.0
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
            now = time.perf_counter()
            if now - last_emit >= r.throttle or step == 1:
                last_emit = now
                sps = e_timed_samples / sum(e_times) * 1000.0 if e_times else samples / e_all_ms * 1000.0
                ev = dict(epoch=epoch + 1, batch=b, batchesPerEpoch=per_epoch, step=step, loss=num(loss), samplesPerSec=sps)
                if acc is not None:
                    ev["acc"] = acc
                emit("batchEnd", **ev)
            if not math.isfinite(loss):
                status = "diverged"
                message = "loss became %s at epoch %d, batch %d of %d (step %d)" % (num(loss), epoch + 1, b + 1, per_epoch, step)
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
            "loss": num(loss_sum / samples) if status != "diverged" else num(float("nan")),
            "batches": batches,
            "samples": samples,
            "samplesPerSec": (e_timed_samples if timed else samples) / ms_sum * 1000.0 if ms_sum > 0 else 0.0,
            "stepMs": statistics.median(e_times) if timed else e_all_ms / batches,
        }
        if r.acc_f:
            m["acc"] = acc_sum / samples
        if status != "diverged":
            precise_bn()
        if status == "completed" and r.xv.shape[0] > 0:
            vl, va = validate(r, r.xv, r.yv)
            m["valLoss"] = num(vl)
            if va is not None:
                m["valAcc"] = va
            if not math.isfinite(vl):
                status, message = "diverged", "validation loss became %s at epoch %d" % (num(vl), epoch + 1)
            else:
                best.offer(epoch + 1, vl, va)
        m["lr"] = r.lr
        m["seconds"] = time.perf_counter() - t_epoch
        m["memory"] = memory(r)
        epochs_out.append(m)
        emit("epochEnd", **m)
    train_ms = (time.perf_counter() - t_train) * 1000.0

    test = best.test(len(epochs_out)) if r.xs is not None and status != "diverged" and epochs_out else None

    t_save = time.perf_counter()
    saved = None
    if cfg.get("stateDict") and status != "diverged" and RANK == 0:
        tmp = cfg["stateDict"] + ".tmp"
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
        os.replace(tmp, cfg["stateDict"])
        saved = cfg["stateDict"]
    step_sum = sum(step_times)
    emit(
        "done",
        status=status,
        message=message,
        budgetHit=budget_hit,
        epochs=epochs_out,
        steps=step,
        stepMs=statistics.median(step_times) if step_times else first_step_ms,
        samplesPerSec=(timed_samples / step_sum * 1000.0) if step_sum > 0 else None,
        peakBytes=memory(r)["peakBytes"],
        firstStepMs=first_step_ms,
        trainMs=train_ms,
        saveMs=(time.perf_counter() - t_save) * 1000.0,
        stateDict=saved,
        params={"total": module.count_weights(model),
                "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad)},
        device="cuda" if r.cuda else "cpu",
        precision="bf16-autocast" if r.bf16 else "float32",
        compiled=r.compiled,
        compileNote=r.compile_note,
        threads=torch.get_num_threads(),
        processes=WORLD,
        distBackend=r.dist_backend,
        test=test,
    )
    if r.dist is not None:
        r.dist.destroy_process_group()


def main(module, config_path):
    """Trains module's model class as the JSON config at config_path says."""
    with open(config_path) as f:
        cfg = json.load(f)
    try:
        _train(cfg, module)
    except Exception as e:
        # One tagged line per failing rank, with the time: the host names the first failure (the cause), not the
        # ranks that fell after it in a collective. The traceback follows, as usual.
        import traceback as _tb
        sys.stderr.write("LAUREL_ERROR " + json.dumps({"rank": RANK, "time": time.time(), "error": _tb.format_exception_only(type(e), e)[-1].strip()}) + "\n")
        sys.stderr.flush()
        raise
