"""The record of one forward pass for laurel_trace.py: every tensor op (shape, lineage, module, source line in the
user's file), every module call, and every add with its residual verdict. An add is a residual when its two
operands share a latest common ancestor c and some path from c to an operand passes through an op that reads a
parameter (f is learned). Ancestors are bitsets (Python ints), one per node.
"""
import math
import os
import sys

ADD_NAMES = {"add", "add_", "__add__", "__radd__", "__iadd__"}
# Ops that only read metadata: no lineage, no node.
META_NAMES = {"size", "dim", "numel", "__len__", "__bool__", "item", "tolist", "__format__", "__repr__", "__get__", "stride", "is_contiguous", "get_device", "element_size", "__index__", "__int__", "__float__"}
CONV_NAMES = {"conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "batch_norm", "instance_norm", "group_norm"}

class Tracer:
    def __init__(self, path):
        self.path = os.path.realpath(path)
        self.nodes = []       # dicts, index = id
        self.anc = []         # ancestor bitsets (int), including the node itself
        self.by_tensor = {}   # id(tensor) -> node id
        self.keep = []        # tensors kept alive so ids stay unique
        self.param_mask = 0
        self.calls = []
        self.call_stack = []  # call ids
        self.adds = []
        self.quiet = 0        # >0 inside a LaurelResidual: its inner ops are one op
        self.params = set()

    def line(self):
        f = sys._getframe(2)
        while f is not None:
            if os.path.realpath(f.f_code.co_filename) == self.path:
                return f.f_lineno
            f = f.f_back
        return None

    def module_path(self):
        return self.calls[self.call_stack[-1]]["path"] if self.call_stack else ""

    def node(self, t, op, inputs, reads_param, line, kind="op"):
        nid = len(self.nodes)
        bits = 1 << nid
        for i in inputs:
            bits |= self.anc[i]
        self.anc.append(bits)
        if reads_param:
            self.param_mask |= 1 << nid
        shape = list(t.shape) if hasattr(t, "shape") else None
        self.nodes.append({"id": nid, "op": op, "kind": kind, "inputs": inputs, "shape": shape, "dtype": str(t.dtype).replace("torch.", ""),
                           "module": self.module_path(), "line": line, "param": reads_param})
        self.by_tensor[id(t)] = nid
        self.keep.append(t)
        return nid

    def ref(self, t, line):
        """The node of a tensor argument; tensors never seen (buffers, constants) become const nodes."""
        nid = self.by_tensor.get(id(t))
        if nid is None:
            nid = self.node(t, "const", [], False, line, "const")
        return nid

    def tensors(self, obj, out):
        import torch
        if isinstance(obj, torch.Tensor):
            out.append(obj)
        elif isinstance(obj, (list, tuple)):
            for o in obj:
                self.tensors(o, out)
        elif isinstance(obj, dict):
            for o in obj.values():
                self.tensors(o, out)
        return out

    def record(self, func, args, kwargs, out):
        import torch
        name = getattr(func, "__name__", str(func))
        if self.quiet or name in META_NAMES:
            return
        ins = self.tensors(args, []) + self.tensors(kwargs, [])
        reads_param = any(isinstance(t, torch.nn.Parameter) for t in ins)
        line = self.line()
        inputs = [self.ref(t, line) for t in ins if not isinstance(t, torch.nn.Parameter)]
        outs = self.tensors(out, [])
        ids = [self.node(t, name, inputs, reads_param, line) for t in outs]
        for j in ids[1:]:  # one call with several outputs (split, chunk): the graph draws one box
            self.nodes[j]["first"] = ids[0]
        if name in ADD_NAMES and len(ids) == 1 and len(inputs) == 2 and not any(isinstance(t, torch.nn.Parameter) for t in ins):
            self.add(ids[0], inputs, line)

    def on_path(self, c, operand):
        """Nodes on paths from c to operand, c excluded, as a bitset."""
        mask = self.anc[operand] & ~(1 << c)
        out = 0
        while mask:
            low = mask & -mask
            n = low.bit_length() - 1
            if (self.anc[n] >> c) & 1:
                out |= low
            mask ^= low
        return out

    def add(self, nid, operands, line, laurel=None):
        a, b = operands
        common = self.anc[a] & self.anc[b]
        entry = {"node": nid, "line": line, "operands": [a, b], "shapes": [self.nodes[a]["shape"], self.nodes[b]["shape"]],
                 "residual": False, "fork": None, "shortcut": None, "shortcutKind": None, "width": None, "axis": None, "positions": None,
                 "module": self.module_path(), "library": self.library_class(), "laurel": laurel}
        if common:
            c = common.bit_length() - 1
            paths = [self.on_path(c, a), self.on_path(c, b)]
            learned = [bin(p & self.param_mask).count("1") for p in paths]
            if laurel is not None or any(learned):
                # The shortcut is the path with fewer learned ops, then fewer ops; ties: the second operand.
                key = [(learned[i], bin(paths[i]).count("1")) for i in (0, 1)]
                s = 0 if key[0] < key[1] else 1
                entry.update(residual=True, fork=c, shortcut=s, shortcutKind="identity" if learned[s] == 0 else "projection")
                self.width(entry, nid, paths[1 - s])
        self.adds.append(entry)

    def width(self, entry, nid, branch_path):
        shape = self.nodes[nid]["shape"] or []
        ops = set()
        while branch_path:
            low = branch_path & -branch_path
            ops.add(self.nodes[low.bit_length() - 1]["op"])
            branch_path ^= low
        if not shape:
            return
        channels = len(shape) >= 4 or (len(shape) == 3 and bool(ops & CONV_NAMES))  # NCHW / NCL feature maps
        axis = 1 if channels else len(shape) - 1
        entry["axis"] = 1 if channels else -1
        entry["width"] = shape[axis]
        entry["positions"] = math.prod(shape[1:]) // shape[axis] if len(shape) > 1 else 1

    def library_class(self):
        """The library module class an op runs inside, when no frame of it is in FILE (e.g. nn.TransformerEncoderLayer)."""
        if not self.call_stack:
            return None
        call = self.calls[self.call_stack[-1]]
        return None if call["inFile"] else call["cls"]

    def hooks(self, model):
        import torch
        handles = []
        for path, mod in model.named_modules():
            cls = type(mod)
            in_file = os.path.realpath(getattr(sys.modules.get(cls.__module__), "__file__", "") or "") == self.path

            def pre(m, args, path=path, cls=cls, in_file=in_file):
                line = self.line()
                ins = [self.ref(t, line) for t in self.tensors(args, []) if not isinstance(t, torch.nn.Parameter)]
                cid = len(self.calls)
                self.calls.append({"id": cid, "path": path, "cls": cls.__name__, "inFile": in_file, "leaf": not any(True for _ in m.children()),
                                   "line": line, "inputs": ins, "outputs": [], "parent": self.call_stack[-1] if self.call_stack else None,
                                   "ops": len(self.nodes)})
                self.call_stack.append(cid)
                if cls.__name__ == "LaurelResidual":
                    self.quiet += 1

            def post(m, args, out, cls=cls):
                import torch
                cid = self.call_stack.pop()
                call = self.calls[cid]
                if cls.__name__ == "LaurelResidual":
                    self.quiet -= 1
                    outs = self.tensors(out, [])
                    ids = [self.node(t, "laurel", call["inputs"], True, call["line"]) for t in outs]
                    if len(ids) == 1 and len(call["inputs"]) >= 2:
                        laurel = {"variant": m.variant, "rank": getattr(m, "rank", None), "k": m.k, "rwNorm": m.rw_norm, "terms": getattr(m, "terms", None) if m.has_pa else None}
                        self.call_stack.append(cid)
                        self.add(ids[0], call["inputs"][:2][::-1] if getattr(m, "branch_index", 0) == 1 else call["inputs"][:2], call["line"], laurel)
                        self.call_stack.pop()
                call["outputs"] = [self.by_tensor[id(t)] for t in self.tensors(out, []) if id(t) in self.by_tensor]
                call["ops"] = [call["ops"], len(self.nodes)]

            handles.append(mod.register_forward_pre_hook(pre))
            handles.append(mod.register_forward_hook(post))
        return handles
