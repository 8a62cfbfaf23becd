#!/usr/bin/env bash
# One short table of what genbench gains on a GPU (issue 10): ensemble speedup of the default
# suite's network at 1/8/64/256 members, DCGAN 32 px images/s with and without the fast paths
# (bf16, channels-last, torch.compile), and feature-extraction images/s. Offline: no downloads.
#
#   benchmarks/gpu_check.sh                      # on the default CUDA device
#   benchmarks/gpu_check.sh --device cuda:1
#   benchmarks/gpu_check.sh --device cpu --members 1,2 --steps 2 --dcgan-batch 4 \
#       --dcgan-channels 8 --samples 64 --images 64 --fast-paths precision,channels_last   # smoke
#
# --help lists every option. The measuring is genbench.bench.gpu_check; PYTHON picks the
# interpreter (default: the repository's .venv, else python3 on PATH).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
[[ -x "$python" ]] || python="$(command -v python3)"
cd "$repo"
exec "$python" -m genbench.bench.gpu_check --suite "$repo/suites/mode_collapse.yaml" "$@"
