#!/usr/bin/env bash
# The device check of issue #14: one command, at most 5 minutes on one H200.
#
#   bash bench/prepare_gpu_data.sh          # here, once: copies mnist1d_5000.npz to .device_data/
#   bash bench/gpu_check.sh                 # on the GPU machine; the `run` call must name
#                                           # .device_data in `carry` (../shared does not travel)
#
# Phases (each prints its wall time): install (pip install --no-deps -e .), the GPU tests
# (pytest tests/gpu, -n 8 when pytest-xdist is there), the MNIST-1D Conv1d CNN run recorded in
# docs/results.md (seed 0) with --device cuda, checked for >= 93 % test accuracy, and the GPU
# benchmark (bench/gpu_speed.py, 3 alternations). Exit status: 0 when every checked phase
# passed, 1 when one failed, 3 when there is no GPU (nothing run; the message says why).
# Environment: PYTHON (default python3, else python), GPU_CHECK_SKIP (space-separated phase
# names to leave out: install tests train bench), per-phase limits TESTS_S TRAIN_S BENCH_S.
set -u
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PY="${PYTHON:-$(command -v python3 || command -v python)}"
SKIP=" ${GPU_CHECK_SKIP:-} "
OUT="${GPU_CHECK_OUT:-${OUT:-$ROOT/runs/gpu_check}}"
mkdir -p "$OUT"
status=0
summary=""

why=$(PYTHONPATH="$ROOT/src" "$PY" - <<'PYEOF' 2>&1
from chainrule import devices
_, why = devices.cupy_status()
print("" if why is None else why)
PYEOF
)
if [ -n "$why" ]; then
  echo "gpu_check: no GPU, nothing run: $why"
  exit 3
fi

phase() {   # phase NAME LIMIT_S COMMAND...: run, time, record
  local name="$1" limit="$2"; shift 2
  if [[ "$SKIP" == *" $name "* ]]; then
    echo "== $name: skipped (GPU_CHECK_SKIP)"; summary+="$name: skipped"$'\n'; return
  fi
  echo "== $name: $*"
  local t0=$(date +%s%N)
  timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
  local rc=${PIPESTATUS[0]}
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  local dt="$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  [ "$rc" -eq 124 ] && echo "== $name: stopped after its limit of ${limit}s"
  echo "== $name: ${dt} s, exit $rc"
  summary+="$(printf '%-8s %9s s  exit %d' "$name" "$dt" "$rc")"$'\n'
  [ "$rc" -ne 0 ] && status=1
}

phase install 120 "$PY" -m pip install --no-deps --no-build-isolation -q -e .
# the checkout's sources come first whatever the install did (a failed install is reported)
export PYTHONPATH="$ROOT/src:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PY" -c "import pytest, hypothesis" 2>/dev/null; then
  if [ -d .device_data/pylib ]; then
    export PYTHONPATH="$PYTHONPATH:$ROOT/.device_data/pylib"
    echo "gpu_check: using the carried pytest/hypothesis from .device_data/pylib"
  else
    echo "gpu_check: pytest or hypothesis missing and no .device_data/pylib carried"
  fi
fi

XDIST=()
"$PY" -c "import xdist" 2>/dev/null && XDIST=(-n 8)
phase tests "${TESTS_S:-150}" "$PY" -m pytest -q -p no:cacheprovider "${XDIST[@]}" tests/gpu

# the mnist1d-cnn command of docs/results.md, seed 0, plus --device cuda
DATA="$(mktemp -d)"
if [ -f .device_data/mnist1d/mnist1d_5000.npz ]; then
  mkdir -p "$DATA/mnist1d" && cp .device_data/mnist1d/mnist1d_5000.npz "$DATA/mnist1d/"
elif [ -f .device_data/mnist1d_5000.npz ]; then
  mkdir -p "$DATA/mnist1d" && cp .device_data/mnist1d_5000.npz "$DATA/mnist1d/"
else
  echo "gpu_check: .device_data/mnist1d/mnist1d_5000.npz missing: run bench/prepare_gpu_data.sh" \
       "here and name .device_data in the run call's carry"
fi
train_and_check() {
  rm -rf "$OUT/mnist1d-cnn-0"
  CHAINRULE_DATA="$DATA" OPENBLAS_NUM_THREADS=1 "$PY" -m chainrule train --dataset mnist1d \
    --model cnn --dropout 0 --lr 2e-2 --batch-size 100 --epochs 150 --val-split 0 --seed 0 \
    --out "$OUT/mnist1d-cnn-0" --device cuda || return 1
  "$PY" - "$OUT/mnist1d-cnn-0/metrics.json" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
acc = m["test"]["accuracy"]
acc = acc / 100 if acc > 1 else acc
print(f"mnist1d-cnn seed 0 on {m.get('device')}: test accuracy {acc:.2%} (needs >= 93 %), "
      f"train {m.get('train_seconds', float('nan')):.1f} s")
sys.exit(0 if acc >= 0.93 and str(m.get("device", "")).startswith("cuda") else 1)
PYEOF
}
export -f train_and_check
export PY OUT DATA
phase train "${TRAIN_S:-120}" bash -c train_and_check

phase bench "${BENCH_S:-150}" "$PY" -m bench.gpu_speed --alternations 3 --warmup 5 --steps 30 \
  --json "$OUT/gpu_speed.json"

echo "== gpu_check summary (logs in $OUT):"
printf '%s' "$summary"
[ "$status" -eq 0 ] && echo "gpu_check: PASSED" || echo "gpu_check: FAILED"
exit "$status"
