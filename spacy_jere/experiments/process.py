"""Benchmarks that need a fresh process (peak RSS only grows): run one call of a module's
function in a new Python and read back the JSON it prints; the process's own RSS."""
import json
import resource
import subprocess
import sys


def in_fresh_process(module: str, function: str, *args, what: str) -> dict:
    """``module.function(*args)`` (literal arguments) in a new interpreter; its JSON result."""
    call = ", ".join(repr(arg) for arg in args)
    code = f"import json; from {module} import {function}; print(json.dumps({function}({call})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def rss_mib() -> float:
    """This process's resident memory now."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    """This process's peak resident memory so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
