#!/usr/bin/env bash
# Every GPU check of issue 16 in one call on a lent CUDA machine, in under 10 minutes.
#
# Here, once, from the repository root (the offline datasets, 60 MB, travel with the call;
# the repository's own files are about 3 MB, so the whole stays under the tool's 64 MiB):
#   grep -qx /.gpu-data/ .git/info/exclude 2>/dev/null || echo /.gpu-data/ >> .git/info/exclude
#   mkdir -p .gpu-data && cp -r ../shared/data/. .gpu-data/
# Then with the device tool:
#   run(command="bash benchmarks/gpu_check.sh .gpu-data", carry=[".gpu-data"], timeout_s=600)
#
# DATA_DIR is either that copy (it holds prepare.py, which lays the datasets out as
# torchvision does, in about 20 s) or a folder already laid out so ($LENET_DATA_DIR here).
# Quickest and most telling first, so that a call cut short still answers the most:
#   1. the CUDA tests of the engine: graph against eager, determinism, a member of a mixed
#      group (other lr, weight decay and labels beside it) against training alone, a mixed
#      group's graph following an lr schedule (at most 2 minutes);
#   2. the benchmark over 2 epochs: textbook loop, one model, a group of 5, a mixed group of
#      35 (7 noise settings x 5 seeds), with CUDA graphs (at most 2.5 minutes; target: the
#      mixed group of 35 at or under 0.08 s per model-epoch);
#   3. the course study, sections 1-4 of the shipped lenet5.toml as written (target: at most
#      2 minutes of wall time, data loading, evaluation and the report included), with its
#      plan printed first (at most 4.5 minutes);
#   4. the engine's variants again without CUDA graphs (at most 1 minute).
# Each step has its own timeout, so the whole stays under 10 minutes. The log lands in
# $OUT/gpu_check.log, the benchmark's JSON, the study's report, course.json and CSVs beside it.
# STUDY_PROFILE=quick runs step 3 with the study's quick profile (to try the script on a CPU).
set -uo pipefail
SOURCE="$(cd "${1:?usage: gpu_check.sh DATA_DIR}" && pwd)"
OUT="${OUT:-gpu-check-out}"
WORK="${TMPDIR:-/tmp}/lenet-gpu-check"
PROFILE="${STUDY_PROFILE:-full}"
mkdir -p "$OUT" "$WORK"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD"
PY="$(command -v python3 || command -v python)"
LENET=("$PY" -m lenetcli)
TIMEFORMAT='wall time %R s'
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  "$PY" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "GPU", torch.cuda.is_available())'
  if [ -f "$SOURCE/prepare.py" ]; then
    echo "== 0. datasets laid out from the offline copy"
    time "$PY" "$SOURCE/prepare.py" "$WORK/data"
    export LENET_DATA_DIR="$WORK/data"
  else
    export LENET_DATA_DIR="$SOURCE"
  fi
  # torchvision's MNIST, which the benchmark's textbook loop uses, reads the unpacked files
  gunzip -kf "$LENET_DATA_DIR"/MNIST/raw/*.gz 2>/dev/null
  echo "== 1. CUDA tests of the engine"
  timeout 120 "$PY" -m pytest -q -p no:cacheprovider -rs tests/test_engine.py \
    -k "cuda or mixed or memberwise or devices"
  echo "== 2. benchmark, 2 epochs, CUDA graphs"
  timeout 150 "$PY" benchmarks/bench_engine.py --data-dir "$LENET_DATA_DIR" --epochs 2 \
    --json "$OUT/bench-graph.json"
  echo "== 3. the course study, sections 1-4 (profile $PROFILE)"
  rm -rf "$WORK/course"  # a warm machine may hold an earlier call's: time a whole study
  "${LENET[@]}" report --study --sections 1,2,3,4 --profile "$PROFILE" --dry-run \
    --out "$WORK/course"
  time timeout 270 "${LENET[@]}" report --study --sections 1,2,3,4 --profile "$PROFILE" \
    --out "$WORK/course" --quiet
  echo "exit status $?"
  mkdir -p "$OUT/course"
  (cd "$WORK/course" && cp --parents -t "$OUT/course" report.md course.json config.json \
    ./*/runs.csv ./*/summary.csv ./*/config.json 2>/dev/null)
  echo "== 4. benchmark without CUDA graphs, 2 epochs, engine only"
  timeout 60 "$PY" benchmarks/bench_engine.py --data-dir "$LENET_DATA_DIR" --epochs 2 --no-graph \
    --variants x1,x5,mixed35 --json "$OUT/bench-eager.json"
  date -u
} 2>&1 | tee "$OUT/gpu_check.log"
