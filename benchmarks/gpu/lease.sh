#!/usr/bin/env bash
# One lease of a lent NVIDIA GPU, as one prepared script (docs/calibration.md, docs/training.md):
#   1. dense vs 2:4 GEMM latencies of squares and Transformer layers (measure_nm.py) -> $OUT/measurements.json
#   1b. with ENERGY_S > 0: energy per GEMM (NVML), idle power, burst and sustained clocks, spread between runs,
#       on compute- and memory-bound shapes -> $OUT/energy.json (for nmsim calibrate --energy; docs/calibration.md)
#   2. one training cell alone on the GPU (time per cell, and the same cell's CPU trace to compare)
#   3. the missing cells of the translation grid as parallel processes on the one GPU, until a deadline;
#      finished traces come back in $OUT/grid.tar (the lease returns at most 8 files).
# Usage (repo root, on the GPU machine): OUT=/some/dir bash benchmarks/gpu/lease.sh
# Knobs (environment): MEASURE_S (measurement budget, s), DEADLINE_S (the grid stops this many seconds
# after the script started, leaving time to pack its traces), WORKERS, STEPS, ENERGY_S (energy budget, s; 0 = skip).
set -u
OUT=${OUT:?set OUT to the folder for results}
MEASURE_S=${MEASURE_S:-200}
DEADLINE_S=${DEADLINE_S:-560}
WORKERS=${WORKERS:-12}
STEPS=${STEPS:-1500}
ENERGY_S=${ENERGY_S:-0}
export PYTHONUNBUFFERED=1 PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD NUMBA_CACHE_DIR=/tmp/numba_cache
t0=$(date +%s)
{
  nvidia-smi --query-gpu=name,memory.total,power.limit,clocks.max.sm,driver_version --format=csv
  python3 -c "import torch, numpy, numba, pydantic; print('torch', torch.__version__, 'numpy', numpy.__version__, 'numba', numba.__version__, 'pydantic', pydantic.__version__)"
} 2>&1 | tee "$OUT/env.txt"

echo "== 1. GEMM latencies ($MEASURE_S s budget)"
python3 benchmarks/gpu/measure_nm.py --squares 4096,8192 --dtypes fp16,bf16,int8,fp8 \
  --budget-s "$MEASURE_S" --out "$OUT/measurements.json" > "$OUT/measure.log" 2>&1
echo "measure_nm rc=$? after $(( $(date +%s) - t0 )) s"; tail -n 4 "$OUT/measure.log"

if [ "$ENERGY_S" -gt 0 ]; then
  echo "== 1b. energy and clock states ($ENERGY_S s budget)"
  python3 -c "import pynvml" 2>/dev/null || pip install -q nvidia-ml-py > /dev/null 2>&1
  python3 benchmarks/gpu/measure_nm.py --squares 4096,8192,16384 --layers 4096:11008 --tokens 4096 \
    --energy-shapes --dtypes fp16,int8 --energy-s 1 --idle-s 3 --cooldown-s 1 --sustained-s 0.3 --runs 3 \
    --budget-s "$ENERGY_S" --out "$OUT/energy.json" > "$OUT/energy.log" 2>&1
  echo "energy rc=$? after $(( $(date +%s) - t0 )) s"; tail -n 3 "$OUT/energy.log"
fi

echo "== 2. one cell alone on the GPU"
work=/tmp/grid && mkdir -p "$work" /tmp/single && cp -p traces/translation/*.json "$work"/ 2>/dev/null
timeout 120 python3 -m nmsim train --device cuda --recipe srste --nm 1:8 --seed 1 --steps "$STEPS" \
  --out /tmp/single/srste_1x8_s1_cuda.json 2>&1 | tail -n 1

GRID_S=$(( DEADLINE_S - ($(date +%s) - t0) ))
echo "== 3. grid, $WORKERS workers, $GRID_S s left"
timeout -k 15 "$GRID_S" python3 -m nmsim train-grid --out "$work" --seeds 1,2,3 --steps "$STEPS" \
  --workers "$WORKERS" --threads 1 --device cuda > "$OUT/grid.log" 2>&1
echo "grid rc=$? after $(( $(date +%s) - t0 )) s"; grep -c "acc=" "$OUT/grid.log"; tail -n 3 "$OUT/grid.log"
(cp /tmp/single/*.json "$work"/ 2>/dev/null; cd "$work" && find . -name '*.json' -newer "$OUT/env.txt" -print0 | tar cf "$OUT/grid.tar" --null -T -)
tar tf "$OUT/grid.tar" | wc -l
