"""Time to a val loss: this project's time-budget training against nanoGPT's CPU recipe, side by side.

    git clone https://github.com/karpathy/nanoGPT /tmp/nanogpt       # once; anywhere outside this repo
    python benchmarks/bench_nanogpt.py /tmp/nanogpt                  # target val 1.88, ours: --minutes 0.4

Both are run as whole commands (Python start-up, data loading, evaluations included), one after the
other on this machine: ours, nanoGPT, ours again. Each command's output is read line by line as it
arrives, and the time of the first evaluation line whose val loss is at or below the target, counted
from the launch of the command, is its time to target. The ratio uses the slower of our two runs.

nanoGPT's recipe is the one its README gives for a CPU (4 layers × 4 heads × 128 wide, context 64,
batch 12, 2000 iterations, lr 1e-3 with 100 warm-up steps, dropout 0, --eval_iters=20, --compile=False)
with --dtype=float32 (on a CPU nanoGPT computes in fp32 whatever the dtype; float32 only keeps it from
creating a CUDA GradScaler). Its val loss is its own estimate (20 batches every 250 steps); its final
checkpoint is also scored exactly, over the whole val split, the way ours always is. nanoGPT's data
preparation would download the corpus: the local copy ($WORKSHOP_CORPUS) is put in its place first.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from helpers.data import find_corpus  # noqa: E402

NANOGPT_CPU_RECIPE = [
    "config/train_shakespeare_char.py",
    "--device=cpu",
    "--compile=False",
    "--eval_iters=20",
    "--log_interval=1",
    "--block_size=64",
    "--batch_size=12",
    "--n_layer=4",
    "--n_head=4",
    "--n_embd=128",
    "--max_iters=2000",
    "--lr_decay_iters=2000",
    "--dropout=0.0",
    "--dtype=float32",
]
OUR_VAL = re.compile(r"^step (\d+) .*\| val (\d+\.\d+)")
NANOGPT_VAL = re.compile(r"^step (\d+): train loss [\d.]+, val loss (\d+\.\d+)")


def timed_run(command: list[str], cwd: Path, pattern: re.Pattern, target: float) -> dict:
    """Run `command`; the (seconds since launch, step, val) of each evaluation line, and the time to target."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryFile("w+") as errors:  # progress bars and warnings: kept apart from the lines read
        launched = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=errors, text=True)
        evals = []
        for line in process.stdout:
            match = pattern.match(line)
            if match:
                evals.append((time.perf_counter() - launched, int(match[1]), float(match[2])))
        status = process.wait()
        took = time.perf_counter() - launched
        if status != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(command)} failed with status {status}:\n{errors.read()[-2000:]}")
    reached = next((e for e in evals if e[2] <= target), None)
    return {"evals": evals, "wall_s": took, "reached": reached, "best": min(v for _, _, v in evals)}


def prepare_nanogpt_data(nanogpt: Path) -> None:
    data = nanogpt / "data" / "shakespeare_char"
    if (data / "val.bin").is_file():
        return
    shutil.copyfile(find_corpus(None), data / "input.txt")  # instead of its download
    subprocess.run([sys.executable, "prepare.py"], cwd=data, check=True, capture_output=True)


def nanogpt_exact_val(nanogpt: Path, out_dir: Path) -> float | None:
    """nanoGPT's last saved checkpoint (its best val estimate), scored over the whole val split."""
    import numpy as np

    ckpt_path = out_dir / "ckpt.pt"
    if not ckpt_path.is_file():
        return None
    sys.path.insert(0, str(nanogpt))
    from model import GPT as NanoGPT  # nanoGPT's own model code, from its checkout
    from model import GPTConfig as NanoConfig

    checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    model = NanoGPT(NanoConfig(**checkpoint["model_args"]))
    state = {k.removeprefix("_orig_mod."): v for k, v in checkpoint["model"].items()}
    model.load_state_dict(state)
    model.eval()
    val = torch.from_numpy(
        np.fromfile(nanogpt / "data" / "shakespeare_char" / "val.bin", dtype=np.uint16).astype(np.int64)
    )
    block = checkpoint["model_args"]["block_size"]
    n = (len(val) - 1) // block
    x, y = val[: n * block].view(n, block), val[1 : n * block + 1].view(n, block)
    total = 0.0
    with torch.no_grad():
        for i in range(0, n, 256):
            _, loss = model(x[i : i + 256], y[i : i + 256])
            total += loss.item() * len(x[i : i + 256])
    return total / n


def describe(name: str, result: dict, target: float) -> str:
    reached = result["reached"]
    when = f"{reached[0]:6.1f}s (step {reached[1]}, val {reached[2]:.4f})" if reached else "not reached"
    last_at, last_step, _ = result["evals"][-1]  # a run that ends badly can be told apart: few steps, or early
    return (
        f"{name:10s} time to val ≤ {target}: {when}; best val {result['best']:.4f}; last evaluation at step "
        f"{last_step}, {last_at:.1f}s; whole command {result['wall_s']:.1f}s"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("nanogpt", type=Path, help="a checkout of https://github.com/karpathy/nanoGPT (outside this repo)")
    p.add_argument("--target", type=float, default=1.88)
    p.add_argument("--minutes", type=float, default=0.4, help="our time budget (python -m helpers.train --minutes)")
    p.add_argument("--preset", default="auto")
    args = p.parse_args(argv)
    nanogpt = args.nanogpt.resolve()
    if not (nanogpt / "train.py").is_file() or not (nanogpt / "model.py").is_file():
        raise SystemExit(f"{nanogpt} is not a nanoGPT checkout. Get one: git clone https://github.com/karpathy/nanoGPT")
    prepare_nanogpt_data(nanogpt)
    print(
        f"{platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} CPUs · "
        f"torch {torch.__version__} · {time.strftime('%Y-%m-%d %H:%M')} · load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        ours = [sys.executable, "-m", "helpers.train", "--preset", args.preset, "--minutes", str(args.minutes)]
        ours += ["--device", "cpu", "--sample-tokens", "100"]
        theirs = [sys.executable, "train.py", *NANOGPT_CPU_RECIPE, f"--out_dir={tmp}/nanogpt"]
        runs = []
        for name, command, cwd, pattern in (
            ("ours", ours + ["--out", f"{tmp}/ours1"], REPO, OUR_VAL),
            ("nanoGPT", theirs, nanogpt, NANOGPT_VAL),
            ("ours", ours + ["--out", f"{tmp}/ours2"], REPO, OUR_VAL),
        ):
            result = timed_run(command, cwd, pattern, args.target)
            runs.append((name, result))
            print(describe(name, result, args.target), f"· load {os.getloadavg()[0]:.2f}", flush=True)
        exact = nanogpt_exact_val(nanogpt, Path(tmp) / "nanogpt")
    print(f"\nours: {' '.join(ours[1:])}\nnanoGPT: python train.py {' '.join(NANOGPT_CPU_RECIPE)}")
    if exact is not None:
        print(f"nanoGPT's final checkpoint, scored exactly over the whole val split: {exact:.4f}")
    ours_runs = [r for n, r in runs if n == "ours"]
    nano = runs[1][1]
    if all(r["reached"] for r in ours_runs):
        slower = max(r["reached"][0] for r in ours_runs)
        if nano["reached"]:
            print(
                f"time to val ≤ {args.target}: ours {slower:.1f}s / nanoGPT {nano['reached'][0]:.1f}s = "
                f"{slower / nano['reached'][0]:.2f}×"
            )
        else:
            print(
                f"nanoGPT did not reach {args.target} (best {nano['best']:.4f}): against its whole run, "
                f"ours {slower:.1f}s / {nano['wall_s']:.1f}s = {slower / nano['wall_s']:.2f}× (an upper bound)"
            )
    else:
        print(f"ours did not reach {args.target} in {args.minutes} minutes: raise --minutes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
