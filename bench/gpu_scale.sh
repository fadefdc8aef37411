#!/usr/bin/env bash
# Issue 14's one prepared run on a CUDA machine: files -> CAM maps (nvJPEG, fp32 and bf16 + channels_last),
# nvJPEG decode + resize alone, top-5 vs forward on one photo, and the CPU input path at 2 and 16 threads.
# JSON and the log under $OUT (default out/).
# Usage (repository root):  EXPLAINERS_SAMPLE_DIR=/path/to/imagenet-sample bash bench/gpu_scale.sh
#   PY=python3 to use another interpreter; QUICK=1 for a smoke run (works on a CPU-only machine too).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
DEVICE=cuda
ARGS=(--gpu-repeat 10 --batch 256 --reps 3 --workers "$(nproc)")
CPU_ARGS=(--threads "2,$(nproc)" --reps 3)
if [ "${QUICK:-0}" = 1 ]; then
  ARGS=(--photos 8 --gpu-repeat 2 --batch 8 --reps 1 --workers 2); CPU_ARGS=(--photos 16 --threads 2 --reps 1)
  "$PY" -c "import torch; raise SystemExit(0 if torch.cuda.is_available() else 1)" || DEVICE=cpu
fi
"$PY" - <<'PY'
import torch, torchvision, sys
print("torch", torch.__version__, "torchvision", torchvision.__version__, "python", sys.version.split()[0])
print("GPU:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")
PY
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
"$PY" bench/inputs.py --device "$DEVICE" --sections gpu "${ARGS[@]}" --out "$OUT/gpu-scale.json"
"$PY" bench/inputs.py --sections input_path "${CPU_ARGS[@]}" --out "$OUT/inputs-cpu-$(nproc)cores.json"
echo "results: $OUT/gpu-scale.json $OUT/inputs-cpu-$(nproc)cores.json"
