#!/usr/bin/env bash
# Issue 20's one prepared GPU run: files -> CAM maps (DataLoader worker processes vs DALI vs threads + nvJPEG),
# top-5 CAM vs the forward pass, evaluate --methods cam,secam photos/s. JSON and the log under $OUT (default out/).
# Usage (repository root):  EXPLAINERS_SAMPLE_DIR=/path/to/imagenet-sample bash bench/gpu_engine.sh
#   PY=python3 to use another interpreter; QUICK=1 for a smoke run (works on a CPU-only machine too).
#   DALI is optional: pip install nvidia-dali-cuda130 (without it the dali variant says "not measured").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
ARGS=(--repeat 10 --batch 256 --reps 3 --workers "$(nproc)" --evaluate-photos 200)
if [ "${QUICK:-0}" = 1 ]; then
  ARGS=(--quick)
  "$PY" -c "import torch; raise SystemExit(0 if torch.cuda.is_available() else 1)" || ARGS+=(--device cpu)
fi
"$PY" - <<'PY'
import torch, torchvision, sys
print("torch", torch.__version__, "torchvision", torchvision.__version__, "python", sys.version.split()[0])
print("GPU:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")
try:
    import nvidia.dali as dali
    print("DALI", dali.__version__)
except ImportError:
    print("DALI: not installed (pip install nvidia-dali-cuda130)")
PY
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
"$PY" bench/gpu_engine.py "${ARGS[@]}" --out "$OUT/gpu-engine.json" 2>&1 | tee "$OUT/gpu-engine.log"
echo "results: $OUT/gpu-engine.json $OUT/gpu-engine.log"
