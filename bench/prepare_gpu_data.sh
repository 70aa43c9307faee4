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

# Fallback test tools for a device machine without them (it has no network): the pure-Python
# packages pytest and hypothesis need, from this venv. gpu_check.sh puts .device_data/pylib on
# PYTHONPATH only when the machine's own pytest or hypothesis is missing.
site="$(python3 - <<'PYEOF' 2>/dev/null || true
import pytest, os
print(os.path.dirname(os.path.dirname(pytest.__file__)))
PYEOF
)"
[ -z "$site" ] && site="$(ls -d ../main/.venv/lib/python3*/site-packages 2>/dev/null | head -1)"
if [ -n "$site" ] && [ -d "$site/_pytest" ]; then
  rm -rf .device_data/pylib && mkdir -p .device_data/pylib
  for pkg in _pytest pytest py.py pluggy iniconfig packaging pygments hypothesis \
             sortedcontainers; do
    [ -e "$site/$pkg" ] && cp -r "$site/$pkg" .device_data/pylib/
  done
  cp -r "$site"/pytest-*.dist-info "$site"/pluggy-*.dist-info "$site"/hypothesis-*.dist-info \
        .device_data/pylib/ 2>/dev/null || true
  find .device_data/pylib -name __pycache__ -prune -exec rm -rf {} +
  echo "prepare_gpu_data: fallback pytest + hypothesis in .device_data/pylib ($(du -sh .device_data/pylib | cut -f1))"
fi
