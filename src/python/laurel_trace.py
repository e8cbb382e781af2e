"""One forward pass of a PyTorch model defined in a user's .py file, recorded for LAuReL Studio.

    python laurel_trace.py FILE [--model EXPR]... [--input EXPR]... [--all] [--timeout S] [--stdin]

Prints one JSON object on stdout (the user's own prints go to stderr): the parameter counts, every tensor op
with its shape, lineage, module and source line in FILE, every leaf-module call, and every add with its
residual verdict; with --all, one such object (or error) per model of the file. Schema: docs/ARCHITECTURE.md
("The trace JSON"). Nothing here writes a file.

An add is a residual when its two operands share a latest common ancestor c and some path from c to an
operand passes through an op that reads a parameter (f is learned): rotary embeddings, masks and
tok_emb + pos_emb are then not residuals.

The tracer is three files: which models and inputs (laurel_trace_spec.py), the record of a pass
(laurel_trace_graph.py) and this driver. LAuReL Studio joins them into one `python -c` program
(src/trainer/pyTracerSource.ts); run as a file, this one imports the other two from its folder.
"""
import argparse
import json
import os
import signal
import sys

try:
    Tracer  # noqa: B018 - defined above when the three files run as one program
except NameError:
    from laurel_trace_graph import Tracer
    from laurel_trace_spec import TooLong, TraceError, located, model_specs, too_long
    from laurel_import import run_module


def load(args):
    """Runs the file as the module its project imports (laurel_import.py); returns (path, source, module name, scope)."""
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
    try:
        module, modname = run_module(path, source)
    except BaseException as e:  # noqa: BLE001 - any failure of the user's file is reported, located
        if isinstance(e, (KeyboardInterrupt, TooLong)):
            raise
        raise TraceError("import", "%s: %s" % (type(e).__name__, e), located(e, path))
    scope = dict(vars(module))
    scope.setdefault("torch", torch)
    return path, source, module, modname, scope



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
