#!/usr/bin/env bash
# Every GPU check of the engine in one call on a lent CUDA machine, in under 8 minutes.
#
# Here, once, from the repository root (MNIST's four .gz files, 11 MB, travel with the call):
#   echo /.data/ >> .git/info/exclude
#   mkdir -p .data/MNIST/raw && cp "$LENET_DATA_DIR"/MNIST/raw/*.gz .data/MNIST/raw/
# Then with the device tool:
#   run(command="bash benchmarks/gpu_check.sh .data", carry=[".data"], timeout_s=540)
#
# Quickest and most telling first, so that a call cut short still answers the most:
#   1. the CUDA tests of the engine: graph against eager, determinism, a member of a mixed
#      group (other lr, weight decay and labels beside it) against training alone, a mixed
#      group's graph following an lr schedule (at most 3 minutes);
#   2. the benchmark over 2 epochs: textbook loop, one model, a group of 5, a mixed group of
#      35 (7 noise settings x 5 seeds), with CUDA graphs (at most 3 minutes);
#   3. the engine's variants again without CUDA graphs (at most 1.5 minutes).
# Each step has its own timeout, so the whole stays under 8 minutes. The log lands in
# $OUT/gpu_check.log, the benchmark's JSON beside it.
set -uo pipefail
DATA="$(cd "${1:?usage: gpu_check.sh DATA_DIR}" && pwd)"
OUT="${OUT:-gpu-check-out}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD" LENET_DATA_DIR="$DATA"
PY="$(command -v python3 || command -v python)"
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  "$PY" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "GPU", torch.cuda.is_available())'
  # torchvision's MNIST, which the benchmark's textbook loop uses, reads the unpacked files
  gunzip -kf "$DATA"/MNIST/raw/*.gz
  echo "== 1. CUDA tests of the engine"
  timeout 180 "$PY" -m pytest -q -p no:cacheprovider -rs tests/test_engine.py \
    -k "cuda or mixed or memberwise or devices"
  echo "== 2. benchmark, 2 epochs, CUDA graphs"
  timeout 180 "$PY" benchmarks/bench_engine.py --data-dir "$DATA" --epochs 2 \
    --json "$OUT/bench-graph.json"
  echo "== 3. benchmark without CUDA graphs, 2 epochs, engine only"
  timeout 90 "$PY" benchmarks/bench_engine.py --data-dir "$DATA" --epochs 2 --no-graph \
    --variants x1,x5,mixed35 --json "$OUT/bench-eager.json"
  date -u
} 2>&1 | tee "$OUT/gpu_check.log"
