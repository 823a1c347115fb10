"""The machine and library versions every result records."""
import os
import platform
from pathlib import Path


def machine() -> dict:
    from importlib.metadata import version

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        **{name.replace("-", "_"): version(name) for name in ("spacy", "spacy-transformers", "thinc", "torch")},
    }
