"""The PyTorch training loop's set-up (laurel_train.py): cancellation, device and process group, the model with its
initial weights, the data, DistributedDataParallel, the optimiser and torch.compile, in this order (the run's seed
is drawn from in it). One Run holds what the steps and the epoch loop read.
"""
import os
import signal
import threading

import numpy as np
import torch

import laurel_train_inputs as inputs
from laurel_train_events import LOCAL_RANK, WORLD, log
from laurel_train_loss import acc_fn, loss_fn, takes_targets
from laurel_train_optim import make_optimizer


def watch_cancel(cfg):
    """SIGINT (and SIGTERM under torchrun) and, with cfg["watchStdin"], a closed stdin set the returned
    {"why": ...}: the loop stops at the next batch and saves."""
    stop = {"why": None}

    def on_sigint(signum, frame):
        stop["why"] = "SIGINT"

    signal.signal(signal.SIGINT, on_sigint)
    if WORLD > 1:
        # torchrun passes a signal it gets on to the workers as SIGTERM: stop at the next batch and save, as for SIGINT.
        signal.signal(signal.SIGTERM, on_sigint)
    if cfg.get("watchStdin"):
        # The host closes stdin to cancel, and a host that dies closes it too: stop at the next batch.
        def watch():
            try:
                # os.read on the fd, not sys.stdin: a daemon thread blocked inside a buffered reader aborts
                # the interpreter at exit (it cannot take the reader's lock).
                while os.read(0, 65536):
                    pass
            except Exception:
                pass
            if stop["why"] is None:
                stop["why"] = "stdin closed"

        threading.Thread(target=watch, daemon=True).start()
    return stop


def _tensors(cfg, files, device, model_loss):
    """The .npy pair files["x"], files["y"] on the device: token ids as int64, class indices for a model's own loss."""
    x, y = inputs.load(files["x"], device), torch.from_numpy(np.load(files["y"])).to(device)
    if cfg["loss"] == "tokenCrossEntropy":
        x, y = x.long(), y.long()  # token ids (exact in float32 below 2^24)
    elif model_loss:
        y = y.long()  # class indices, as a model's own cross-entropy takes them
    return x, y


class Run:
    """One training run as config.json describes it, set up on this rank; the fields the steps change (fwd and
    compiled after a failed torch.compile, lr and grad_norm after each step) are plain attributes."""

    def __init__(self, cfg, module):
        self.cfg = cfg
        self.stop = watch_cancel(cfg)
        if cfg.get("threads"):
            torch.set_num_threads(int(cfg["threads"]))
        torch.manual_seed(int(cfg["seed"]))
        self._devices(cfg)
        self._model(cfg, module)
        model, device = self.model, self.device
        x, y = _tensors(cfg, cfg, device, self.model_loss)
        if cfg.get("pySource") and any(p.numel() == 0 for p in model.parameters()):
            # LaurelResidual (and torch's Lazy modules) take their D-sized weights at the first call. DDP sizes its
            # gradient buckets and torch.compile its graph from the parameters as they are, so one forward pass on
            # one training sample (eval mode, no gradient: BatchNorm statistics and the RNG stay as they were) fills
            # them first, on every rank alike.
            model.eval()
            with torch.no_grad():
                inputs.call(model, x[:1])
            model.train()
        if WORLD > 1:
            # DDP's constructor checks and broadcasts the parameters in calls that may hold the GIL (rank 0's heartbeat
            # thread then stops): wait for the slower ranks in a barrier, which releases it, first.
            self.dist.barrier()
        # DDP averages the gradients over the ranks; "model" stays the bare module (saved, validated, counted).
        self.net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[LOCAL_RANK] if self.cuda else None) if WORLD > 1 else model
        self.order = np.load(cfg["order"]) if cfg.get("order") else None
        n_train = self.n_train = int(cfg["trainSamples"])
        self.xt, self.yt, self.xv, self.yv = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
        # The held-out test set: evaluated once, after training, by the best-validation checkpoint.
        self.xs, self.ys = _tensors(cfg, cfg["test"], device, self.model_loss) if cfg.get("test") else (None, None)
        model.eval()
        adapted = module.adapt_normalization(model, lambda: (inputs.as_args(self.xt[i:i + 256]) for i in range(0, n_train, 256)))
        if adapted:
            # Keras's Normalization.adapt(data): the file gives no mean / variance, so the training data decide them.
            log("info", "Normalization %s: mean and variance adapted on the %d training samples (the file has none)" % (", ".join(adapted), n_train))
        model.train()
        self._training(cfg)

    def _devices(self, cfg):
        want = cfg.get("device", "auto")
        self.cuda = cuda = torch.cuda.is_available() and want != "cpu"
        self.dist, self.dist_backend = None, None
        if WORLD > 1:
            if int(cfg["batchSize"]) % WORLD:
                raise ValueError("batch size %d cannot be split over %d processes: use a batch size divisible by %d" % (int(cfg["batchSize"]), WORLD, WORLD))
            import torch.distributed as dist
            self.dist, self.dist_backend = dist, "nccl" if cuda else "gloo"
            if cuda:
                torch.cuda.set_device(LOCAL_RANK)
            dist.init_process_group(self.dist_backend)
        self.device = torch.device(("cuda:%d" % LOCAL_RANK if WORLD > 1 else "cuda") if cuda else "cpu")
        self.bf16 = cuda and cfg.get("bf16", True) and torch.cuda.is_bf16_supported()

    def _model(self, cfg, module):
        self.model = model = getattr(module, cfg["className"])()
        # A language model whose forward takes the targets (nanoGPT, minGPT: forward(idx, targets=None)) returns
        # the logits of every position only when given them; it is called so, and its (logits, loss) pair is read.
        # loss=model (a `# laurel:` option of a .py source): train on the loss the forward returns with the targets.
        self.model_loss = bool(cfg.get("modelLoss"))
        self.pass_targets = (cfg["loss"] == "tokenCrossEntropy" or self.model_loss) and takes_targets(model)
        if self.model_loss and not self.pass_targets:
            raise ValueError("loss=model: %s.forward takes no targets argument, so it returns no loss of its own; use loss=cross_entropy" % type(model).__name__)
        if cfg.get("weights"):
            # The TF.js engine's seeded initial weights: both engines start from the same point.
            blob = np.fromfile(cfg["weights"]["bin"], dtype=np.float32)
            arrays = {n: blob[e["offset"]:e["offset"] + int(np.prod(e["shape"]))].reshape(e["shape"]) for n, e in cfg["weights"]["manifest"].items()}
            module.load_tfjs_weights(model, arrays, strict=True)
        elif cfg.get("kerasInit"):
            # The Keras initializers the file names, one generator per weight from the run seed and its name.
            module.keras_initialize(model, int(cfg["seed"]))
        model.to(self.device)

    def _training(self, cfg):
        self.bs, self.epochs, self.max_steps = int(cfg["batchSize"]), int(cfg["epochs"]), cfg.get("maxSteps")
        self.per_epoch = -(-self.n_train // self.bs)
        self.loss_f, self.acc_f = loss_fn(cfg["loss"]), acc_fn(cfg["loss"])
        if self.model_loss:
            self.acc_f = acc_fn("tokenCrossEntropy")  # argmax against class or token indices
        self.opt = make_optimizer(cfg["optimizer"], self.model.parameters(), float(cfg["learningRate"]), cfg, self.model)
        steps = self.epochs * self.per_epoch
        self.total_steps = steps if self.max_steps is None else min(int(self.max_steps), steps)
        self.clip = cfg.get("clipNorm")
        self.lr, self.grad_norm = float(cfg["learningRate"]), None
        self.throttle = float(cfg.get("throttleMs", 1000)) / 1000.0

        self.fwd, self.compiled, self.compile_note = self.net, False, None
        want_compile = cfg.get("compile", "auto")
        if want_compile is True or (want_compile == "auto" and self.cuda):
            if hasattr(torch, "compile"):
                self.fwd, self.compiled = torch.compile(self.net), True
            else:
                self.compile_note = "torch %s has no torch.compile" % torch.__version__
        elif want_compile == "auto":
            self.compile_note = "not on the CPU (compiling takes longer than a short CPU run saves)"

    def eager(self, note):
        """torch.compile failed on the first step: train eagerly from now on."""
        self.compile_note = note
        log("warn", note)
        self.fwd, self.compiled = self.net, False
