"""Runs torch.distributed.run as `python -m torch.distributed.run` does (the PyTorch engine's several-rank launch).

torch 1.13 (Debian's python3-torch) under Python >= 3.11 cannot parse its own --redirects/--tee default '0'
(IntFlag iteration skips the 0 member, so Std.from_str returns None and the launch fails in to_map); the shim
maps that None back to Std.NONE. Run with `python -c` (argv[0] is '-c'), so torchrun reads the rest of argv.
"""
import runpy
from torch.distributed.elastic.multiprocessing import api as _a
_f = _a.Std.from_str
def _fix(v): return _a.Std.NONE if v is None else v
_a.Std.from_str = staticmethod(lambda vm: (lambda r: {k: _fix(x) for k, x in r.items()} if isinstance(r, dict) else _fix(r))(_f(vm)))
runpy.run_module('torch.distributed.run', run_name='__main__', alter_sys=True)
