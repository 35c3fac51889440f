"""`output`: the calls notebooks make to Colab's output area; here they do what a plain Jupyter does."""

from __future__ import annotations


def enable_custom_widget_manager() -> None:
    """Colab needs this for third-party widgets; Jupyter always has them: nothing to do."""


def disable_custom_widget_manager() -> None:
    """See enable_custom_widget_manager."""


def clear(wait: bool = False, output_tags=()) -> None:
    from IPython.display import clear_output

    clear_output(wait=wait)
