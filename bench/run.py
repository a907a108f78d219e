"""`make bench`: runs every benchmark and saves the results as JSON under bench/results/."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import auth_me, cold_import


def main() -> None:
    results_dir = Path(__file__).parent / "results"
    results_dir.mkdir(exist_ok=True)
    results = {}
    result = cold_import.run()
    print(cold_import.report(result))
    results["cold_import"] = result
    result = auth_me.run()
    print(auth_me.report(result))
    results["auth_me"] = result
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (results_dir / f"bench-{stamp}.json").write_text(json.dumps(results, indent=2))
    print(f"saved bench/results/bench-{stamp}.json")


if __name__ == "__main__":
    main()
