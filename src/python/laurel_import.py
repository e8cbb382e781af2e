"""Runs a user's model file as the module its project imports it as.

A file inside a package (minGPT's mingpt/model.py beside mingpt/__init__.py) imports its siblings as
`from mingpt.utils import CfgNode` or `from .utils import CfgNode`: both need the package's root folder on
sys.path and the module's __package__ set, as when the project runs `import mingpt.model`. A file outside a
package keeps its folder first on sys.path, as `python model.py` would. Used by the tracer (joined into its
`python -c` program) and by the PyTorch engine's laurel_model.py (written beside it in the run folder).
"""
import importlib
import os
import re
import sys
import types


def package_of(folder):
    """The dotted package `folder` is (nested packages joined) and the folder its top package sits in; ("", None)
    when `folder` has no __init__.py or a package name is not an identifier."""
    parts, d = [], os.path.realpath(folder)
    while os.path.isfile(os.path.join(d, "__init__.py")):
        parts.insert(0, os.path.basename(d))
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    if not parts or not all(p.isidentifier() for p in parts):
        return "", None
    return ".".join(parts), d


def run_module(path, source, home=None):
    """Executes `source` (compiled as `path`) as the module of a file that lives in `home` (default: path's folder).
    Returns (module, module name); the file's own exceptions propagate, a failed relative import naming why its
    package did not import."""
    home = os.path.realpath(home or os.path.dirname(path))
    package, root = package_of(home)
    for folder in reversed([os.path.dirname(path), home] + ([root] if root else [])):
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)
    leaf = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0]) or "model"
    package_error = None
    if package:
        try:
            importlib.import_module(package)  # as `import pkg.model` would, the package's __init__ runs first
        except Exception as e:  # noqa: BLE001 - then the file runs as a plain module, as `python model.py` would
            package_error, package = "%s: %s" % (type(e).__name__, e), ""
    name = "%s.%s" % (package, leaf) if package else leaf
    module = types.ModuleType(name)
    module.__file__ = path
    if package:
        module.__package__ = package
    sys.modules[name] = module
    try:
        exec(compile(source, path, "exec"), module.__dict__)
    except ImportError as e:
        if package_error and "relative import" in str(e):
            e.msg = "%s (its package did not import: %s)" % (e, package_error)  # the file's own traceback kept
            e.args = (e.msg,)
        raise
    return module, name
