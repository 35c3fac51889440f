"""Export a trained run to a Hugging Face transformers folder (offline; pushing to the Hub is up to you):

python -m helpers.export --run runs/laptop --out exports/laptop

The library side is helpers/huggingface.py. With transformers installed, the export is loaded back and
its logits compared with ours; the SHA-256 printed at the end is what `load_pretrained` needs.
"""

from __future__ import annotations

import argparse

from .checkpoint import load_checkpoint
from .errors import cli_exit_status, require
from .huggingface import PUBLISHED_NAME, compare_with_transformers, export_checkpoint

AGREEMENT = 1e-4  # largest |logit difference| accepted between ours and transformers' (float32 on the CPU)


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m helpers.export",
        description="Write a trained run as a Hugging Face transformers model folder (GPT2LMHeadModel, or "
        "LlamaForCausalLM for a model with rotary positions, RMSNorm and SwiGLU).",
    )
    p.add_argument("--run", required=True, help="run folder written by helpers.train (or a .safetensors checkpoint)")
    p.add_argument("--out", required=True, help="folder to write (new, empty, or an earlier export)")
    p.add_argument("--no-check", action="store_true", help="skip loading the export back with transformers")
    return p


def run_export(args) -> None:
    checkpoint = load_checkpoint(args.run)
    export = export_checkpoint(checkpoint, args.out)
    print(f"Exported {args.run} → {export.folder} (config.json, model.safetensors, tokenizer, README.md)")
    if not args.no_check:
        try:
            import transformers
        except ImportError:
            print("Not checked with transformers (not installed): pip install transformers")
        else:
            diff = compare_with_transformers(export.folder, export.model)
            require(
                diff <= AGREEMENT,
                f"The export in {export.folder} does not compute what the model computes (largest logit "
                f"difference {diff:.2e} > {AGREEMENT:g}): a bug in helpers/huggingface.py. Fix: please report it "
                "with the run's config; the folder is kept for inspection.",
            )
            print(
                f"Loaded back with transformers {transformers.__version__}: matches ours, "
                f"largest logit difference {diff:.2e} on random tokens"
            )
    print(
        f"To publish it for load_pretrained / trained_model(), upload {export.folder} (README: 'Share the model') "
        f"and set in pyproject.toml under [tool.gpt-from-scratch]:\n"
        f'pretrained = "<URL of {PUBLISHED_NAME}>#sha256={export.published_sha256}"'
    )


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return cli_exit_status(lambda: run_export(args))


if __name__ == "__main__":
    raise SystemExit(main())
