#!/usr/bin/env bash
# Every GPU check of the fast engine (issue 3) in one call on a lent CUDA machine.
#
# Here, once, from the repository root (MNIST's four .gz files, 11 MB, travel with the call):
#   echo /.data/ >> .git/info/exclude
#   mkdir -p .data/MNIST/raw && cp "$LENET_DATA_DIR"/MNIST/raw/*.gz .data/MNIST/raw/
# Then with the device tool:
#   run(command="bash benchmarks/gpu_check.sh .data", carry=[".data"], timeout_s=540)
#
# Quickest and most telling first, so that a call cut short still answers the most: the CUDA
# tests, one grouped `lenet train` through the CLI, the benchmark over 3 epochs with and
# without graphs, then the rest of the test suite (Fashion-MNIST and CIFAR-10 tests skip
# without their data). The log lands in $OUT/gpu_check.log, the run folder beside it.
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
  echo "== CUDA tests"
  "$PY" -m pytest -q -p no:cacheprovider -rs tests/test_engine.py -k "cuda or devices or group"
  echo "== lenet train, 5 seeds as one group, 3 epochs"
  time "$PY" -m lenetcli train --dataset mnist --epochs 3 --repeats 5 --no-download \
    --out "$OUT/train-mnist-x5" --overwrite
  echo "== benchmark, 3 epochs"
  "$PY" benchmarks/bench_engine.py --data-dir "$DATA" --epochs 3
  echo "== benchmark without CUDA graphs, 3 epochs"
  "$PY" benchmarks/bench_engine.py --data-dir "$DATA" --epochs 3 --no-graph
  echo "== the whole test suite"
  timeout 240 "$PY" -m pytest -q -p no:cacheprovider -rs
  date -u
} 2>&1 | tee "$OUT/gpu_check.log"
