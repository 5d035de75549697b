#!/usr/bin/env bash
# bench/zoo on this machine's CPU: every model of bench/zoo/zoo_models.py exported by Debian's
# PyTorch, PyTorch fp32 and FX int8 (onednn) timed, then mpq's fp32, bf16 and int8 CPU engines
# (calibrated on the same 64 images) and ONNX Runtime on the FX int8 QDQ export, at batch 8 with
# 2 threads, one model after the other; prints the markdown table of bench/RESULTS.md.
#   bench/zoo/cpu.sh [model,model,...]     (default: all; outputs in bench/work/zoo)
# Needs build/mpq (scripts/build.sh) and onnxruntime-node (npm install --ignore-scripts in
# bench/peers). Run it on a quiet machine: the figures are ratios of runs made minutes apart.
set -euo pipefail
cd "$(dirname "$0")/../.."
W=bench/work/zoo
MODELS=${1:-$(/usr/bin/python3 -c "import sys; sys.path.insert(0, 'bench/zoo'); import zoo_models; print(','.join(zoo_models.MODELS))")}
mkdir -p $W
lscpu | grep -E "Model name" | sed 's/  */ /g'
rm -f $W/cpu.jsonl
for m in ${MODELS//,/ }; do
  /usr/bin/python3 bench/zoo/prepare.py --out $W --models "$m" --cpu-peers --batch 8 --threads 2
  /usr/bin/python3 bench/zoo/run.py --work $W --models "$m" --batch 8 --threads 2 --ort \
    --jsonl $W/cpu.jsonl --log $W/cpu.log >/dev/null
done
/usr/bin/python3 bench/zoo/table.py $W/cpu.jsonl
