#!/usr/bin/env bash
# mpq search's figures on this machine's CPU (2 threads), one model after the other:
#   resnet18   resnet18_cifar trained by `mpq train` on Fashion-MNIST ($STEPS steps of 64), calibrated
#              on 1000 training images; searched on 2000 test images for accuracy within 0.3 points
#              of fp32, batch 128, 10-minute budget.
#   mobilenet  torchvision mobilenet_v3_small (random init, bench/zoo's export and entropy table) on
#              64 validation images of another seed than the calibration's; SQNR against fp32,
#              batch 8, 10-minute budget.
# Prints each report's summary (bench/search/summary.py); outputs in bench/work/search.
#   bench/search/search_bench.sh [resnet18|mobilenet|all]
# Needs build/mpq; mobilenet also bench/work/zoo from `bench/zoo/cpu.sh mobilenet_v3_small`.
# Run it on a quiet machine: every figure is a timing.
set -euo pipefail
cd "$(dirname "$0")/../.."
M=$PWD/build/mpq
W=bench/work/search
Z=bench/work/zoo
WHICH=${1:-all}
STEPS=${STEPS:-400}
mkdir -p $W
lscpu | grep -E "Model name" | sed 's/  */ /g'
export OMP_NUM_THREADS=2

if [ "$WHICH" = all ] || [ "$WHICH" = resnet18 ]; then
  if [ ! -s $W/r18.onnx ]; then
    $M zoo resnet18_cifar -o $W/r18_init.onnx
    $M train -m $W/r18_init.onnx --data fashion-mnist:train --batch 64 --max-steps "$STEPS" -q \
      -o $W/r18.onnx
  fi
  $M calibrate --model $W/r18.onnx --data fashion-mnist:train --calib-images 1000 --quiet \
    -o $W/r18_calib.json
  /usr/bin/time -f "search wall time %e s" $M search --model $W/r18.onnx --calib $W/r18_calib.json \
    --data fashion-mnist:test --limit 2000 --max-accuracy-drop 0.3 --batch 128 --time-budget 10m \
    -o $W/r18_chosen.json --report $W/r18_search.json --svg $W/r18_frontier.svg -q
  /usr/bin/python3 bench/search/summary.py $W/r18_search.json
fi

if [ "$WHICH" = all ] || [ "$WHICH" = mobilenet ]; then
  /usr/bin/python3 -c "
import sys; sys.path.insert(0, 'bench/zoo'); import numpy as np, zoo_models
np.save('$W/mv3_val.npy', zoo_models.images('mobilenet_v3_small', 64, seed=3))"
  /usr/bin/time -f "search wall time %e s" $M search --model $Z/mobilenet_v3_small.onnx \
    --calib $Z/mobilenet_v3_small_cpu_entropy.json --data $W/mv3_val.npy --metric sqnr \
    --batch 8 --time-budget 10m -o $W/mv3_chosen.json --report $W/mv3_search.json \
    --svg $W/mv3_frontier.svg -q
  /usr/bin/python3 bench/search/summary.py $W/mv3_search.json
fi
