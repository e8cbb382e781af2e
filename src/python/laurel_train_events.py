"""The PyTorch training loop's output (laurel_train.py): one JSON event per line on stdout, from rank 0 only, and
a heartbeat line a second from the moment this module is imported (before torch, which takes seconds to import
on a cold cache): the launcher imports laurel_train, whose first import is this module.
"""
import json
import math
import os
import sys
import threading
import time

# torchrun sets these; a plain "python train.py" is rank 0 of 1.
RANK = int(os.environ.get("RANK", "0"))
WORLD = int(os.environ.get("WORLD_SIZE", "1"))
LOCAL_RANK = int(os.environ.get("LOCAL_RANK", "0"))

_EMIT_LOCK = threading.Lock()


def emit(event, **fields):
    if RANK != 0:
        return  # one stream of events: the host reads rank 0's
    line = json.dumps(dict(event=event, **fields)) + "\n"
    with _EMIT_LOCK:  # the heartbeat thread writes too: whole lines only
        sys.stdout.write(line)
        sys.stdout.flush()


def _heartbeat():
    # The host stops an engine that is silent for some seconds (a hung or foreign process): one line a second.
    # os.write, not sys.stdout: a daemon thread inside a buffered writer at exit aborts the interpreter.
    while RANK == 0:
        with _EMIT_LOCK:
            os.write(1, b'{"event": "alive"}\n')
        time.sleep(1.0)


threading.Thread(target=_heartbeat, daemon=True).start()


def num(v):
    """A float for JSON; non-finite values as the strings JavaScript's Number() reads back."""
    v = float(v)
    if math.isfinite(v):
        return v
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")


def log(level, message):
    emit("log", level=level, message=message)


def rss_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0
