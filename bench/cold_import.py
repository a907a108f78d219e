"""Cold-start benchmark: what importing ``function_app`` adds to the bare Functions SDK.

Each sample is a fresh interpreter that imports the module and reports the time the import took
(measured inside the process, so interpreter start-up is excluded from both sides). Baseline and
app runs are interleaved so that machine noise hits both alike. The target (issue #2): the app
adds at most 300 ms to ``import azure.functions, azure.durable_functions``.
"""

from __future__ import annotations

import compileall
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMER = "import time; t = time.perf_counter(); {stmt}; print((time.perf_counter() - t) * 1000)"
CASES = {
    "baseline: import azure.functions, azure.durable_functions": "import azure.functions, azure.durable_functions",
    "app: import function_app": "import function_app",
}
TARGET_MS = 300.0
APP_SOURCES = ("function_app.py", "bootstrap.py", "application", "domain", "infra", "interface", "shared")


def compile_app() -> None:
    """Write the app's ``.pyc`` files, which the warm-up import alone cannot be relied on to do:
    where ``PYTHONDONTWRITEBYTECODE`` is set (it is on some of our machines) none is ever written,
    and every sample would compile the whole app from source (~40 ms more here), which is not the
    import cost the target is about. ``compileall`` writes them whatever that variable says."""
    for name in APP_SOURCES:
        path = ROOT / name
        if path.is_dir():
            compileall.compile_dir(path, quiet=1)
        else:
            compileall.compile_file(path, quiet=1)


def sample(stmt: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", TIMER.format(stmt=stmt)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def run(rounds: int = 15) -> dict[str, object]:
    compile_app()
    for stmt in CASES.values():  # warm the .pyc files and the page cache once
        sample(stmt)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(rounds):
        for name, stmt in CASES.items():
            times[name].append(sample(stmt))
    medians = {name: statistics.median(values) for name, values in times.items()}
    base, app = medians.values()
    return {
        "rounds": rounds,
        "median_ms": medians,
        "min_ms": {name: min(values) for name, values in times.items()},
        "max_ms": {name: max(values) for name, values in times.items()},
        "added_ms": app - base,
        "target_added_ms": TARGET_MS,
        "meets_target": app - base <= TARGET_MS,
    }


def report(result: dict[str, object]) -> str:
    lines = [f"Cold import, median of {result['rounds']} fresh processes each (interleaved):"]
    for name, median in result["median_ms"].items():  # type: ignore[union-attr]
        lo, hi = result["min_ms"][name], result["max_ms"][name]  # type: ignore[index]
        lines.append(f"  {name:<60} {median:7.1f} ms  (min {lo:.1f}, max {hi:.1f})")
    verdict = "meets" if result["meets_target"] else "MISSES"
    lines.append(f"  app adds {result['added_ms']:.1f} ms — {verdict} the target of <= {TARGET_MS:.0f} ms")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
