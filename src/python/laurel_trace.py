"""One forward pass of a PyTorch model defined in a user's .py file, recorded for LAuReL Studio.

    python laurel_trace.py FILE [--model EXPR]... [--input EXPR]... [--all] [--timeout S] [--stdin]

Prints one JSON object on stdout (the user's own prints go to stderr): the parameter counts, every tensor op
with its shape, lineage, module and source line in FILE, every leaf-module call, and every add with its
residual verdict; with --all, one such object (or error) per model of the file. Schema: docs/ARCHITECTURE.md
("The trace JSON"). Nothing here writes a file.

An add is a residual when its two operands share a latest common ancestor c and some path from c to an
operand passes through an op that reads a parameter (f is learned): rotary embeddings, masks and
tok_emb + pos_emb are then not residuals.
"""
import argparse
import json
import math
import os
import re
import signal
import sys
import traceback
import types

ADD_NAMES = {"add", "add_", "__add__", "__radd__", "__iadd__"}
# Ops that only read metadata: no lineage, no node.
META_NAMES = {"size", "dim", "numel", "__len__", "__bool__", "item", "tolist", "__format__", "__repr__", "__get__", "stride", "is_contiguous", "get_device", "element_size", "__index__", "__int__", "__float__"}
CONV_NAMES = {"conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "batch_norm", "instance_norm", "group_norm"}


class TraceError(Exception):
    def __init__(self, phase, message, line=None):
        super().__init__(message)
        self.phase, self.message, self.line = phase, message, line


_NEXT_KEY = re.compile(r"\s+[A-Za-z_]\w*\s*=(?!=)")


def split_options(text):
    """A `# laurel:` comment's parts: split at `;` or before ` key=`, outside brackets and strings (as pyOptions.ts)."""
    parts, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif depth == 0 and ch == ";":
            parts.append(text[start:i])
            start = i + 1
        elif depth == 0 and ch.isspace() and _NEXT_KEY.match(text, i):
            parts.append(text[start:i])
            start = i
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def laurel_comments(source):
    """One entry per `# laurel: model = ...; input = ...` comment line: {'model': (expr, line), 'input': (expr, line)}."""
    found = []
    for n, text in enumerate(source.splitlines(), 1):
        m = re.match(r"\s*#\s*laurel:\s*(.*)$", text)
        if not m:
            continue
        entry = {}
        for part in split_options(m.group(1)):
            key, eq, expr = part.partition("=")
            key = key.strip()
            if eq and key in ("model", "input") and key not in entry:
                entry[key] = (expr.strip(), n)
        if entry:
            found.append(entry)
    return found


def comment_specs(source):
    """(model, model line, input, input line) per comment line naming a model; an input of its own line, else of
    the first comment line with an input only."""
    entries = laurel_comments(source)
    shared = next((e["input"] for e in entries if "input" in e and "model" not in e), (None, None))
    return [e["model"] + e.get("input", shared) for e in entries if "model" in e], shared


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


def located(tb_or_exc, path):
    """The last traceback line inside FILE."""
    line = None
    for frame in traceback.extract_tb(tb_or_exc.__traceback__):
        if os.path.realpath(frame.filename) == path:
            line = frame.lineno
    if isinstance(tb_or_exc, SyntaxError) and tb_or_exc.filename and os.path.realpath(tb_or_exc.filename) == path:
        line = tb_or_exc.lineno
    return line


def guess_input(model):
    import torch.nn as nn
    import torch
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return "torch.randn(2, %d, 32, 32)" % m.in_channels
        if isinstance(m, nn.Conv1d):
            return "torch.randn(2, %d, 64)" % m.in_channels
        if isinstance(m, nn.Embedding):
            return "torch.randint(0, %d, (2, 16))" % m.num_embeddings
        if isinstance(m, nn.Linear):
            return "torch.randn(2, %d)" % m.in_features
    return None


def default_model(module, modname):
    """The no-argument nn.Module class of the file that no other such class uses, e.g. TransformerNet()."""
    import inspect
    import torch.nn as nn
    found = []
    for name, cls in vars(module).items():
        if isinstance(cls, type) and issubclass(cls, nn.Module) and cls.__module__ == modname:
            try:
                sig = inspect.signature(cls.__init__)
            except (TypeError, ValueError):
                continue
            rest = [p for p in list(sig.parameters.values())[1:] if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            if not rest:
                found.append(name)
    return found


class TooLong(BaseException):
    """Raised by the alarm: a BaseException, so the user's `except Exception` does not swallow it."""


def too_long(*_):
    raise TooLong()


def outermost(scope, names):
    """Of several no-argument classes, those whose instances are no part of another's (a Net, not its Block)."""
    built = {}
    for n in names:
        try:
            built[n] = scope[n]()
        except Exception:  # noqa: BLE001 - a class that cannot be built alone is no candidate
            continue
    inner = {n for n, m in built.items() for o, other in built.items() if o != n and any(type(s).__name__ == n for s in other.modules())}
    return [n for n in built if n not in inner]


def load(args):
    """Runs the file as a module (its folder on sys.path); returns (path, source, module name, scope)."""
    path = os.path.realpath(args.file)
    if getattr(args, "source", None) is not None:  # sent with a --serve request
        source = args.source
    elif args.stdin:  # an editor's unsaved text, run as if it were the file
        source = sys.stdin.read()
    else:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    import torch
    torch.manual_seed(0)
    sys.path.insert(0, os.path.dirname(path))
    modname = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0]) or "model"
    module = types.ModuleType(modname)
    module.__file__ = path
    sys.modules[modname] = module
    try:
        exec(compile(source, path, "exec"), module.__dict__)
    except BaseException as e:  # noqa: BLE001 - any failure of the user's file is reported, located
        if isinstance(e, (KeyboardInterrupt, TooLong)):
            raise
        raise TraceError("import", "%s: %s" % (type(e).__name__, e), located(e, path))
    scope = dict(vars(module))
    scope.setdefault("torch", torch)
    return path, source, module, modname, scope


def model_specs(args, source, module, modname, scope):
    """The models to measure, as (model, model line, input, input line): the --model flags (each with its --input,
    or the one --input for all), else the comment lines, else the no-argument classes of the file. Without --all
    only the first; then several no-argument classes measure the outermost, and more than one is an error."""
    inputs = args.input or []
    if args.model:
        if len(inputs) > 1 and len(inputs) != len(args.model):
            raise TraceError("input", "give one --input for all models or one per --model (%d models, %d inputs)" % (len(args.model), len(inputs)))
        specs = [(m, None) + ((inputs[i] if len(inputs) > 1 else inputs[0], None) if inputs else (None, None)) for i, m in enumerate(args.model)]
        return specs if args.all else specs[:1]
    from_comments, shared = comment_specs(source)
    if inputs:
        from_comments = [(m, ml, inputs[0], None) for (m, ml, _, _) in from_comments]
        shared = (inputs[0], None)
    if from_comments:
        return from_comments if args.all else from_comments[:1]
    names = default_model(module, modname)
    if args.all and names:
        # The outermost first (the model the file is about), then every other class that builds alone.
        outer = outermost(scope, names) if len(names) > 1 else names
        return [(n + "()", None) + shared for n in outer + [n for n in names if n not in outer]]
    if len(names) > 1:
        names = outermost(scope, names)
    if len(names) != 1:
        hint = "several classes take no arguments (%s)" % ", ".join(names) if names else "no nn.Module class of the file takes no arguments"
        # Functions such as pytorch-cifar's ResNet18() build models; they are named, never called unasked.
        makers = [n for n, f in vars(module).items() if callable(f) and not isinstance(f, type) and getattr(f, "__module__", None) == modname and n[:1].isupper()]
        example = "%s()" % (names or makers or ["Net"])[0]
        more = "; functions of the file that may build one: %s" % ", ".join(makers) if makers else ""
        raise TraceError("model", "which model? %s%s; add a comment such as `# laurel: model = %s; input = torch.randn(1, 3, 32, 32)` or pass --model" % (hint, more, example))
    return [(names[0] + "()", None) + shared]


def trace_model(path, scope, spec):
    """One forward pass of one model: its trace, or a TraceError."""
    import torch
    from torch.overrides import TorchFunctionMode
    model_expr, model_line, input_expr, input_line = spec
    torch.manual_seed(0)

    def evaluate(what, expr, line):
        try:
            return eval(compile(expr, "<laurel %s>" % what, "eval"), scope)
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, (KeyboardInterrupt, TooLong)):
                raise
            raise TraceError(what, "%s = %s: %s: %s" % (what, expr, type(e).__name__, e), located(e, path) or line)

    model = evaluate("model", model_expr, model_line)
    if not isinstance(model, torch.nn.Module):
        raise TraceError("model", "model = %s is a %s, not a torch.nn.Module" % (model_expr, type(model).__name__), model_line)
    guessed = input_expr is None
    if guessed:
        input_expr = guess_input(model)
        if input_expr is None:
            raise TraceError("input", "no input given and none can be guessed from the first layer; add `# laurel: input = torch.randn(...)` or pass --input")
    x = evaluate("input", input_expr, input_line)
    inputs = x if isinstance(x, tuple) else (x,)
    tracer = Tracer(path)

    class Mode(TorchFunctionMode):
        def __torch_function__(self, func, types, a=(), kw=None):
            kw = kw or {}
            out = func(*a, **kw)
            tracer.record(func, a, kw, out)
            return out

    for t in tracer.tensors(list(inputs), []):
        tracer.node(t, "input", [], False, input_line, "input")
    handles = tracer.hooks(model)
    model.eval()
    try:
        with torch.no_grad(), Mode():
            out = model(*inputs)
    except BaseException as e:  # noqa: BLE001
        if isinstance(e, (KeyboardInterrupt, TooLong)):
            raise
        hint = "; the input was guessed from the first layer: add `# laurel: input = ...` with what the model takes" if guessed else ""
        raise TraceError("forward", "%s: %s%s" % (type(e).__name__, e, hint), located(e, path) or input_line)
    finally:
        for h in handles:
            h.remove()
    params = list(model.parameters())  # after the pass: lazy modules have their weights now
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    modules = []
    seen = set()  # parameters of an earlier module in named_modules() order: tied weights (lm_head = wte)
    for mpath, m in model.named_modules():
        own = sum(p.numel() for p in m.parameters(recurse=False))
        entry = {"path": mpath, "cls": type(m).__name__, "params": sum(p.numel() for p in m.parameters()), "own": own}
        mine = list(m.parameters(recurse=False))
        shared = sum(p.numel() for p in mine if id(p) in seen)
        if shared:
            entry["shared"] = shared
        seen.update(id(p) for p in mine)
        modules.append(entry)
    return {
        "version": 1, "file": path, "torch": torch.__version__, "model": model_expr, "input": input_expr,
        "params": {"total": total, "trainable": trainable, "nonTrainable": total - trainable},
        "outputs": [tracer.by_tensor[id(t)] for t in tracer.tensors(out, []) if id(t) in tracer.by_tensor],
        "nodes": tracer.nodes, "calls": tracer.calls, "modules": modules, "adds": tracer.adds,
    }


def error_of(e, model=None):
    out = {"version": 1, "error": {"phase": e.phase, "message": e.message, "line": e.line}}
    if model is not None:
        out["model"] = model
    return out


def run(args):
    """One trace (the first model), or with --all {"version": 1, "models": [trace or error per model]}."""
    # The limit covers the user's code (import of the file, the models, the forward passes), not torch's import.
    import torch  # noqa: F401 - a missing torch is the 'torch' error, before the alarm starts
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, too_long)
        signal.setitimer(signal.ITIMER_REAL, args.timeout)
    try:
        path, source, module, modname, scope = load(args)
        specs = model_specs(args, source, module, modname, scope)
        if not args.all:
            return trace_model(path, scope, specs[0])
        models = []
        for spec in specs:
            try:
                models.append(trace_model(path, scope, spec))
            except TraceError as e:
                models.append(error_of(e, spec[0]))
            except TooLong:
                models.append(error_of(TraceError("timeout", "the models ran past %g s and were stopped" % args.timeout), spec[0]))
                break
        return {"version": 1, "models": models}
    finally:
        if hasattr(signal, "SIGALRM"):
            signal.setitimer(signal.ITIMER_REAL, 0)


def answer(args):
    """The JSON object for one request: a trace, a set of traces, or an error; never an exception."""
    try:
        return run(args)
    except TraceError as e:
        return error_of(e)
    except TooLong:
        return {"version": 1, "error": {"phase": "timeout", "message": "the model ran past %g s and was stopped" % args.timeout, "line": None}}
    except ImportError as e:
        return {"version": 1, "error": {"phase": "torch", "message": "%s: %s" % (type(e).__name__, e), "line": None}}


def serve(stdout):
    """A warm tracer: torch imported once, then one request per stdin line ({id, file, source?, models, inputs,
    timeout}), each measured in a forked child (the user's module, models and alarm die with it, and a kill of
    the child pid cancels it). Answers {id, pid} when the child starts and {id, result} when it ends."""
    import torch  # noqa: F401 - the point of the server: every child starts with torch imported
    for line in sys.stdin:
        req = json.loads(line)
        args = argparse.Namespace(file=req["file"], model=req.get("models") or None, input=req.get("inputs") or None, all=True,
                                  timeout=float(req.get("timeout", 60)), stdin=False, source=req.get("source"))
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                os.chdir(os.path.dirname(os.path.realpath(args.file)))
                data = json.dumps(answer(args))
            except BaseException as e:  # noqa: BLE001 - the child must always answer and exit
                data = json.dumps({"version": 1, "error": {"phase": "python", "message": "%s: %s" % (type(e).__name__, e), "line": None}})
            with os.fdopen(write, "w") as f:
                f.write(data)
            os._exit(0)
        os.close(write)
        stdout.write(json.dumps({"id": req.get("id"), "pid": pid}) + "\n")
        stdout.flush()
        with os.fdopen(read) as f:
            data = f.read()
        os.waitpid(pid, 0)
        result = json.loads(data) if data else {"version": 1, "error": {"phase": "timeout", "message": "stopped", "line": None}}
        stdout.write(json.dumps({"id": req.get("id"), "result": result}) + "\n")
        stdout.flush()


def main():
    if sys.argv[1:] == ["--serve"]:
        stdout = sys.stdout
        sys.stdout = sys.stderr
        serve(stdout)
        return
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--model", action="append", help="a model expression; several with --all")
    p.add_argument("--input", action="append", help="one input expression for all models, or one per --model")
    p.add_argument("--all", action="store_true", help="measure every model: each --model, each comment line, else each class that builds alone")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--stdin", action="store_true", help="read the file's text from stdin")
    args = p.parse_args()
    stdout = sys.stdout
    sys.stdout = sys.stderr  # the user's prints must not mix with the JSON

    stdout.write(json.dumps(answer(args)) + "\n")
    stdout.flush()


if __name__ == "__main__":
    main()
