#!/usr/bin/env bash
# Copy the data the device check needs into .device_data/ (git-ignored), so that the device
# call can carry it: ../shared does not travel to the device machine.
#   bash bench/prepare_gpu_data.sh     then   run(command="bash bench/gpu_check.sh",
#                                                carry=[".device_data"])
set -euo pipefail
cd "$(dirname "$0")/.."
src="${CHAINRULE_DATA:-../shared/datasets}/mnist1d"
if [ ! -f "$src/mnist1d_5000.npz" ]; then
  echo "prepare_gpu_data: $src/mnist1d_5000.npz not found (set CHAINRULE_DATA)" >&2
  exit 1
fi
mkdir -p .device_data/mnist1d
cp "$src/mnist1d_5000.npz" .device_data/mnist1d/
echo "prepare_gpu_data: copied $(du -h .device_data/mnist1d/mnist1d_5000.npz | cut -f1) to .device_data/mnist1d/"

# Fallback Python packages for a device machine without them (it has no network): pytest and
# hypothesis (pure Python) and safetensors (an abi3 wheel: one build for every CPython 3), from
# this venv, with every module they import at start-up (hypothesis' pytest plugin lives in
# top-level _hypothesis_*.py files). gpu_check.sh appends .device_data/pylib to PYTHONPATH only
# when one of them is missing on the machine, so the machine's own copies win.
py=""
for cand in "${PYTHON:-}" .venv/bin/python ../main/.venv/bin/python python3; do
  if [ -n "$cand" ] && "$cand" -c "import pytest, hypothesis, safetensors" 2>/dev/null; then
    py="$cand"; break
  fi
done
site=""
[ -n "$py" ] && site="$("$py" -c 'import os, pytest; print(os.path.dirname(os.path.dirname(pytest.__file__)))')"
if [ -n "$site" ] && [ -d "$site/_pytest" ]; then
  rm -rf .device_data/pylib && mkdir -p .device_data/pylib
  for pkg in _pytest pytest py.py pluggy iniconfig packaging pygments hypothesis \
             _hypothesis_globals.py _hypothesis_pytestplugin.py _hypothesis_ftz_detector.py \
             sortedcontainers exceptiongroup tomli safetensors; do
    [ -e "$site/$pkg" ] && cp -r "$site/$pkg" .device_data/pylib/
  done
  for dist in pytest pluggy iniconfig packaging pygments hypothesis sortedcontainers \
              exceptiongroup tomli safetensors; do
    cp -r "$site/$dist"-*.dist-info .device_data/pylib/ 2>/dev/null || true
  done
  find .device_data/pylib -name __pycache__ -prune -exec rm -rf {} +
  echo "prepare_gpu_data: fallback pytest + hypothesis + safetensors in .device_data/pylib" \
       "($(du -sh .device_data/pylib | cut -f1), from $site)"
else
  echo "prepare_gpu_data: no python with pytest, hypothesis and safetensors found; no pylib" >&2
fi
