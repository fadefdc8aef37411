#!/usr/bin/env bash
# One prepared run of the benchmark on a CUDA machine: fp32, then bf16 + channels_last; JSON under out/.
# Usage (from the repository root, venv in .venv):  bash bench/gpu.sh [extra benchmark.py args]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-out}
mkdir -p "$OUT"
"$PY" - <<'PY'
import torch, sys
if not torch.cuda.is_available():
    sys.exit("no CUDA device visible to torch: bench/gpu.sh needs a GPU")
print("GPU:", torch.cuda.get_device_name(0), "| torch", torch.__version__)
PY
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
# fp32 (the default maths); the synthetic section uses batch 256 as in issue 6
"$PY" bench/benchmark.py --device cuda --photos 24 --reps 7 --batch-size 128 --synthetic-batch 256 \
    --workers "$(nproc)" --out "$OUT/bench-gpu-fp32.json" "$@"
# bf16 autocast + channels_last (LoadedModel.set_fast_math); maps within the bound stated in docs/BENCHMARKS.md
"$PY" bench/benchmark.py --device cuda --photos 24 --reps 7 --batch-size 128 --synthetic-batch 256 \
    --workers "$(nproc)" --bf16 --channels-last --no-full-slic --lime-samples 1000 \
    --out "$OUT/bench-gpu-bf16-cl.json" "$@"
echo "results: $OUT/bench-gpu-fp32.json $OUT/bench-gpu-bf16-cl.json"
