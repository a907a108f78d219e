"""`make bench`: runs every benchmark and saves the results as JSON under bench/results/."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import auth_me, chat_throughput, cold_import


def main() -> None:
    results_dir = Path(__file__).parent / "results"
    results_dir.mkdir(exist_ok=True)
    if "--search" in sys.argv[1:]:  # `make bench-search` (issue 5): a million messages, several minutes
        from bench import search

        outcome = search.run()
        print(search.report(outcome))
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (results_dir / f"bench-search-{stamp}.json").write_text(json.dumps(outcome, indent=2))
        print(f"saved bench/results/bench-search-{stamp}.json")
        return
    results = {}
    result = cold_import.run()
    print(cold_import.report(result))
    results["cold_import"] = result
    result = auth_me.run()
    print(auth_me.report(result))
    results["auth_me"] = result
    result = chat_throughput.run()
    print(chat_throughput.report(result))
    results["chat_throughput"] = result
    result = chat_throughput.run(separate_emulator=True)  # the app alone in devhost's process, like in Azure
    print(chat_throughput.report(result))
    results["chat_throughput_separate_emulator"] = result
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (results_dir / f"bench-{stamp}.json").write_text(json.dumps(results, indent=2))
    print(f"saved bench/results/bench-{stamp}.json")


if __name__ == "__main__":
    main()
