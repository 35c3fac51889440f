"""Peak memory and speed of `python -m helpers.prepare` on a large generated text, and of training on it.

    python benchmarks/bench_prepare.py                  # 200 MB (and a 20 MB baseline), in a temporary folder
    python benchmarks/bench_prepare.py --mb 1000        # a larger text

Writes a text of --mb megabytes (lines of tiny Shakespeare with a few non-ASCII characters, so that the
vocabulary is not plain ASCII), prepares it in a child process and reads the child's peak resident memory
(after its imports, and at the end) from getrusage; the same for a text a tenth the size, measured in the
same run: memory that stays flat while the text grows tenfold is bounded. Then trains the smoke preset on
the prepared folder for a few steps (memory-mapped) and reports that command's peak memory, beside the same
command on tiny Shakespeare held in memory.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROBE = """
import resource, sys, time
from helpers.prepared import prepare
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
began = time.perf_counter()
prepare(sys.argv[1], sys.argv[2], progress=False)
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter() - began)
"""
KIB = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux


def write_text(path: Path, megabytes: float, source: Path) -> int:
    """Whole copies of `source` (one line in 50 with an 'é') until the file holds `megabytes`; its size."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    block = "".join(line.replace("e", "é", 1) if i % 50 == 0 else line for i, line in enumerate(lines)).encode()
    with open(path, "wb") as f:
        for _ in range(max(1, round(megabytes * 1e6 / len(block)))):
            f.write(block)
    return path.stat().st_size


def prepare_in_child(text: Path, out: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(text), str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    before, peak, seconds = result.stdout.split()
    return {"before": int(before) * KIB, "peak": int(peak) * KIB, "seconds": float(seconds)}


def train_peak(source: list[str], out: Path) -> tuple[int, float]:
    """Peak memory (bytes) and wall time of a short smoke-preset run on `source` (--data X or --corpus X)."""
    probe = (
        "import resource, sys\n"
        "from helpers.train import main\n"
        "status = main(sys.argv[1:])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
        "raise SystemExit(status)\n"
    )
    began = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", probe, *source, "--preset", "smoke", "--device", "cpu"]
        + ["--max-iters", "50", "--out", str(out), "--sample-tokens", "50"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},  # one thread: steady on a busy machine
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return int(result.stdout.strip().splitlines()[-1]) * KIB, time.perf_counter() - began


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mb", type=float, default=200, help="size of the generated text in MB")
    p.add_argument("--source", default=os.environ.get("WORKSHOP_CORPUS", "data/tinyshakespeare.txt"))
    p.add_argument("--tmp", default=None, help="where to write the texts (default: the system's temp folder)")
    args = p.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tmp = Path(tmp)
        rows = []
        for mb in (args.mb / 10, args.mb):
            size = write_text(tmp / f"text{mb:g}.txt", mb, Path(args.source))
            seen = prepare_in_child(tmp / f"text{mb:g}.txt", tmp / f"prepared{mb:g}")
            rows.append((size, seen))
            grew = seen["peak"] - seen["before"]
            print(
                f"prepare {size / 1e6:,.0f} MB: peak {seen['peak'] / 2**20:,.0f} MiB, of which "
                f"{seen['before'] / 2**20:,.0f} MiB before preparing (Python, torch, numpy imported) and "
                f"{grew / 2**20:,.1f} MiB while preparing ({grew / size:.1%} of the text); "
                f"{seen['seconds']:.1f} s, {size / 1e6 / seen['seconds']:,.0f} MB/s over two passes"
            )
        (small, a), (big, b) = rows
        print(
            f"text {big / small:.0f}× larger → memory growth while preparing "
            f"{(b['peak'] - b['before']) / max(a['peak'] - a['before'], 1):.2f}× (bounded: ≈1×)"
        )
        tokens = (tmp / f"prepared{args.mb:g}" / "tokens.bin").stat().st_size
        in_memory, in_memory_s = train_peak(["--corpus", args.source], tmp / "run-in-memory")
        mapped, mapped_s = train_peak(["--data", str(tmp / f"prepared{args.mb:g}")], tmp / "run")
        print(
            f"train the smoke preset 50 steps: on tiny Shakespeare in memory (the baseline) peak "
            f"{in_memory / 2**20:,.0f} MiB, {in_memory_s:.1f} s; on the prepared folder ({tokens / 1e6:,.0f} MB of "
            f"tokens, memory-mapped) peak {mapped / 2**20:,.0f} MiB, {mapped_s:.1f} s (whole commands)"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
