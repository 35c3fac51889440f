"""A stand-in for Colab's `google.colab` package, for tests/test_colab.py (never installed, never shipped).

Real Colab imports `google.colab` when its kernel starts, which is how the notebooks' setup cell knows it
is in Colab. This stand-in offers the little the workshop touches: `drive.mount` and `output`.
What it does not do: anything else of Colab (no widgets manager, no forms, no authentication).
"""

from . import drive, output

__all__ = ["drive", "output"]
