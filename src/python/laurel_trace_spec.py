"""Which models and inputs laurel_trace.py measures: the `# laurel:` comment lines (split as pyOptions.ts splits
them), the --model / --input flags, else the file's nn.Module classes that build without arguments, and an input
guessed from a model's first layer. Part of the tracer: the TypeScript side joins laurel_trace_spec.py,
laurel_trace_graph.py and laurel_trace.py into one program (src/trainer/pyTracerSource.ts).
"""
import os
import re
import traceback

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


def module_classes(module, modname):
    """The file's nn.Module classes in definition order, each with the constructor arguments it requires."""
    import inspect
    import torch.nn as nn
    found = []
    for name, cls in vars(module).items():
        if isinstance(cls, type) and issubclass(cls, nn.Module) and cls.__module__ == modname:
            try:
                sig = inspect.signature(cls.__init__)
            except (TypeError, ValueError):
                continue
            found.append((name, [p.name for p in list(sig.parameters.values())[1:] if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]))
    return found


def default_model(module, modname, scope):
    """The file's nn.Module classes that build without arguments, each with its instance (None when construction
    fails: it stays, so the trace reports its error), less those that learn nothing (minGPT's NewGELU is an
    activation, not a model). Each is built once here; outermost() reads these instances."""
    built = {}
    for name, required in module_classes(module, modname):
        if required:
            continue
        try:
            instance = scope[name]()
        except Exception:  # noqa: BLE001 - reported, located, when the trace builds it
            built[name] = None
            continue
        if any(True for _ in instance.parameters()):
            built[name] = instance
    return built


class TooLong(BaseException):
    """Raised by the alarm: a BaseException, so the user's `except Exception` does not swallow it."""


def too_long(*_):
    raise TooLong()


def outermost(built):
    """Of several no-argument classes (default_model's instances), those whose instances are no part of another's
    (a Net, not its Block); a class that could not be built alone is no candidate."""
    ok = {n: m for n, m in built.items() if m is not None}
    inner = {n for n in ok for o, other in ok.items() if o != n and any(type(s).__name__ == n for s in other.modules())}
    return [n for n in ok if n not in inner]


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
    built = default_model(module, modname, scope)
    names = list(built)
    if args.all and names:
        # The outermost first (the model the file is about), then every other class that builds alone.
        outer = outermost(built) if len(names) > 1 else names
        return [(n + "()", None) + shared for n in outer + [n for n in names if n not in outer]]
    if len(names) > 1:
        names = outermost(built)
    if len(names) != 1:
        # Classes that need arguments, the last defined first (the model a file builds up to: minGPT's GPT(config)).
        needing = ["%s(%s)" % (n, ", ".join(req)) for n, req in reversed(module_classes(module, modname)) if req]
        hint = "several classes take no arguments (%s)" % ", ".join(names) if names else "no nn.Module class of the file builds without arguments%s" % (" (%s)" % ", ".join(needing[:4]) if needing else "")
        # Functions such as pytorch-cifar's ResNet18() build models; they are named, never called unasked.
        makers = [n for n, f in vars(module).items() if callable(f) and not isinstance(f, type) and getattr(f, "__module__", None) == modname and n[:1].isupper()]
        example = "%s()" % (names or makers or ["Net"])[0] if names or makers or not needing else needing[0].split("(")[0] + "(...)"
        more = "; functions of the file that may build one: %s" % ", ".join(makers) if makers else ""
        raise TraceError("model", "which model? %s%s; add a comment such as `# laurel: model = %s; input = torch.randn(1, 3, 32, 32)` or pass --model" % (hint, more, example))
    return [(names[0] + "()", None) + shared]
