#!/usr/bin/env bash
# Makes every figure in the README with the commands printed next to them (the emoji model).
# Usage: bash docs/make_figures.sh [TARGET_IMAGE_FOR_PROJECTION]
set -euo pipefail
cd "$(dirname "$0")/images"
kstylegan sample --n 16 --out samples.png
kstylegan sample --n 64 --psi 0.7 --out samples_psi07.png
kstylegan sample --seeds 0-31 --cols 8 --out classes.png   # one sample per cluster of the conditional model
kstylegan mix --rows 85,100,75,458 --cols 55,821,1789,293 --styles coarse --out mix_coarse.png
kstylegan mix --rows 85,100,75,458 --cols 55,821,1789,293 --styles middle --out mix_middle.png
kstylegan interpolate --seeds 1,2,3,4 --frames 48 --space w --out walk.gif
kstylegan noise --seed 3 --draws 4 --out noise.png
kstylegan directions --model emoji --method sefa --layers 0-3 --out sefa.npz
kstylegan edit --model emoji --seed 7 --direction sefa.npz:0 --strength=-3,3 --steps 7 --layers 0-3 --out edit.png
if [ $# -ge 1 ]; then
  kstylegan project --target "$1" --steps 300 --vgg-weights none --pixel-weight 1 --outdir projection
fi
rm -f sefa.npz
rm -f projection/projected_w.npz
