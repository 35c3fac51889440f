"""Root pytest configuration: tests and notebooks run in smoke mode (seconds, not minutes).

Set here, before any notebook kernel starts, so that the kernels nbval launches inherit it.
Run a notebook in full mode by opening it in Jupyter, not through pytest.
"""

import os

os.environ.setdefault("WORKSHOP_SMOKE", "1")
