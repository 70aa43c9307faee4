#!/usr/bin/env bash
# The device check of issue #14: one command, at most 5 minutes on one H200.
#
#   bash bench/prepare_gpu_data.sh          # here, once: copies mnist1d_5000.npz to .device_data/
#   bash bench/gpu_check.sh                 # on the GPU machine; the `run` call must name
#                                           # .device_data in `carry` (../shared does not travel)
#
# Phases (each prints its wall time; limits sum to under 5 minutes): install (pip install
# --no-deps -e ., 30 s; a failure is reported but not counted, the checkout's src is on
# PYTHONPATH anyway), the GPU tests (tests/gpu in SHARDS=8 pytest processes side by side,
# selected by CHAINRULE_GPU_SHARD=k/8, 120 s), the MNIST-1D Conv1d CNN run recorded in
# docs/results.md (seed 0) with --device cuda, checked for >= 93 % test accuracy (80 s), and
# the GPU benchmark (bench/gpu_speed.py: one process per library per alternation, 3
# alternations, each row printed and saved as it finishes, 60 s). Exit status: 0 when every
# checked phase passed, 1 when one failed, 3 when there is no GPU (nothing run; says why).
# Environment: PYTHON (default python3, else python), GPU_CHECK_SKIP (space-separated phase
# names to leave out: install tests train bench), per-phase limits INSTALL_S TESTS_S TRAIN_S
# BENCH_S, SHARDS.
set -u
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PY="${PYTHON:-$(command -v python3 || command -v python)}"
SKIP=" ${GPU_CHECK_SKIP:-} "
OUT="${GPU_CHECK_OUT:-${OUT:-$ROOT/runs/gpu_check}}"
mkdir -p "$OUT"
status=0
summary=""

# the probe's stdout is its verdict; import-time warnings on stderr pass through, not as "no GPU"
why=$(PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}" timeout 30 "$PY" - <<'PYEOF'
from chainrule import devices
_, why = devices.cupy_status()
print("" if why is None else why)
PYEOF
) || why="${why:-the CuPy probe failed or took over 30 s (exit $?)}"
if [ -n "$why" ]; then
  echo "gpu_check: no GPU, nothing run: $why"
  exit 3
fi

phase() {   # phase [--soft] NAME LIMIT_S COMMAND...: run, time, record (--soft: not counted)
  local soft=0
  [ "$1" = "--soft" ] && { soft=1; shift; }
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
  if [ "$rc" -ne 0 ] && [ "$soft" -eq 1 ]; then
    echo "== $name: failed (exit $rc), not counted: the checkout's src is on PYTHONPATH"
  elif [ "$rc" -ne 0 ]; then
    status=1
  fi
}

# the checkout's sources come first whatever the install does, so a failed install (no pip or
# setuptools there) is reported but not counted
export PYTHONPATH="$ROOT/src:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
phase --soft install "${INSTALL_S:-30}" "$PY" -m pip install --no-deps --no-build-isolation -q -e .
if ! timeout 30 "$PY" -c "import pytest, hypothesis, safetensors" >/dev/null; then
  if [ -d .device_data/pylib ]; then
    export PYTHONPATH="$PYTHONPATH:$ROOT/.device_data/pylib"
    echo "gpu_check: using the carried pytest/hypothesis/safetensors from .device_data/pylib"
  else
    echo "gpu_check: pytest, hypothesis or safetensors missing and no .device_data/pylib carried"
  fi
fi

run_shards() {   # tests/gpu as $SHARDS pytest processes side by side, one log each
  local n="${SHARDS:-8}" k pids=() rc=0
  for ((k = 0; k < n; k++)); do
    CHAINRULE_GPU_SHARD="$k/$n" "$PY" -m pytest -q -p no:cacheprovider tests/gpu \
      > "$OUT/tests.$k.log" 2>&1 &
    pids+=($!)
  done
  for k in "${!pids[@]}"; do
    if ! wait "${pids[$k]}"; then
      rc=1
      echo "-- shard $k/$n failed:"; tail -n 40 "$OUT/tests.$k.log"
    else
      echo "-- shard $k/$n: $(tail -n 1 "$OUT/tests.$k.log")"
    fi
  done
  return "$rc"
}
export -f run_shards
export PY OUT SHARDS
phase tests "${TESTS_S:-120}" bash -c run_shards

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
phase train "${TRAIN_S:-80}" bash -c train_and_check

BENCH_LIMIT="${BENCH_S:-60}"
phase bench "$BENCH_LIMIT" "$PY" -m bench.gpu_speed --alternations 3 --warmup 5 --steps 20 \
  --budget "$((BENCH_LIMIT - 5))" --json "$OUT/gpu_speed.json"

echo "== gpu_check summary (logs in $OUT):"
printf '%s' "$summary"
[ "$status" -eq 0 ] && echo "gpu_check: PASSED" || echo "gpu_check: FAILED"
exit "$status"
