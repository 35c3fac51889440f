#!/usr/bin/env bash
# The unit tests (tests/, not the browser test) on the oldest torch requirements.txt allows: a floor that
# has actually run. Builds its own venv outside the checkout, so the main one stays as it is.
#
#   .ci/venv_torch_floor.sh [VENV_DIR]        default: $TORCH_FLOOR_VENV, else ../venv-torch-floor
#
# To stand in for another environment (Colab: torch 2.11, ipywidgets 7.7.1, ipython 7.34, matplotlib 3.10.0),
# set PINS to its pins; they are installed first and hold as constraints while requirements.txt adds the rest.
# TESTS picks the paths pytest runs (default: tests/); the browser test is always left out.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${1:-${TORCH_FLOOR_VENV:-../venv-torch-floor}}"
PINS="${PINS:-torch==$(sed -n 's/^torch>=\([0-9.]*\).*/\1/p' requirements.txt)}"
TESTS="${TESTS:-tests}"

start=$(date +%s)
python3 -m venv "$VENV"
# shellcheck disable=SC2086  # PINS and TESTS are word lists on purpose
"$VENV/bin/pip" install -q $PINS
printf '%s\n' $PINS > "$VENV/pins.txt"
"$VENV/bin/pip" install -q -r requirements.txt -c "$VENV/pins.txt"
installed=$(date +%s)
"$VENV/bin/python" -c 'import torch; print("torch", torch.__version__, "on Python", __import__("sys").version.split()[0])'
# shellcheck disable=SC2086
"$VENV/bin/python" -m pytest -q -p no:cacheprovider -m "not browser" $TESTS
echo "torch floor: install $((installed - start)) s, tests $(($(date +%s) - installed)) s"
