"""Whether this Python can run LAuReL Studio's PyTorch engine: one JSON line with torch, numpy and the device."""
import json, sys
try:
    import torch
except BaseException as e:
    print(json.dumps({"missing": "torch", "error": "%s: %s" % (type(e).__name__, e)}))
    sys.exit(0)
try:
    import numpy
except BaseException as e:
    print(json.dumps({"missing": "numpy", "error": "%s: %s" % (type(e).__name__, e)}))
    sys.exit(0)
cuda = bool(torch.cuda.is_available())
bf16 = False
if cuda:
    try:
        bf16 = bool(torch.cuda.is_bf16_supported())
    except Exception:
        bf16 = False
print(json.dumps({
    "executable": sys.executable, "pythonVersion": sys.version.split()[0], "torch": torch.__version__,
    "numpy": numpy.__version__, "cuda": cuda, "deviceName": torch.cuda.get_device_name(0) if cuda else "cpu",
    "bf16": bf16, "compile": hasattr(torch, "compile"), "threads": torch.get_num_threads(),
}))
