"""Free and total memory of every CUDA device torch sees (torch.cuda.mem_get_info, what the driver reports as free
now, other processes' use included), as one JSON line; without CUDA, or where it cannot be read, it says why."""
import json, sys


def report():
    try:
        import torch
    except BaseException as e:
        return {"cuda": False, "reason": "torch is not importable (%s: %s)" % (type(e).__name__, e)}
    if not torch.cuda.is_available():
        return {"cuda": False, "reason": "no CUDA: torch %s sees no CUDA device" % torch.__version__}
    if not hasattr(torch.cuda, "mem_get_info"):
        return {"cuda": False, "reason": "torch %s has no torch.cuda.mem_get_info" % torch.__version__}
    devices = []
    try:
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            devices.append({"index": i, "name": torch.cuda.get_device_name(i), "freeBytes": int(free), "totalBytes": int(total)})
    except Exception as e:
        return {"cuda": False, "reason": "torch.cuda.mem_get_info failed (%s: %s)" % (type(e).__name__, e)}
    return {"cuda": True, "devices": devices}


print(json.dumps(report()))
sys.stdout.flush()
