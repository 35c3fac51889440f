"""The ablation ladder's full-mode time (notebooks 03 and 04), rung by rung, on this machine's CPU.

    python benchmarks/bench_ladder.py            # all rungs at the notebooks' full-mode steps

Prints each rung's val loss, seconds, and its time as a multiple of the bigram rung's, measured in the same
run (the baseline), and the whole ladder's seconds: notebook 04 climbs it all, notebook 03 the first three.
The issue's budget: under 2 minutes for the ladder in full mode on a CPU.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from helpers import Corpus  # noqa: E402
from helpers.ladder import RUNGS, LadderConfig, climb  # noqa: E402


def main():
    corpus = Corpus.load()
    cfg = LadderConfig()  # the notebooks' full-mode settings
    print(f"load average before: {os.getloadavg()}")
    started = time.perf_counter()
    results = climb(corpus, RUNGS, cfg)
    total = time.perf_counter() - started
    base = results[0]["seconds"]
    for r in results:
        print(
            f"{r['rung']:<24} val {r['val_loss']:.4f}  {r['seconds']:6.1f} s  ({r['seconds'] / base:.2f}× the bigram rung)"
        )
    print(
        f"whole ladder: {total:.1f} s for {cfg.steps} steps per rung; first three rungs (notebook 03): "
        f"{sum(r['seconds'] for r in results[:3]):.1f} s"
    )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
