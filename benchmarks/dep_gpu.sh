#!/usr/bin/env bash
# DEP's device check: a few bf16 training steps, checkpoint save/reload, batched generation, with
# steps/s, tokens/s and peak memory, on a tiny random Llama built in code (nothing downloaded; needs
# only torch + transformers + numpy and this repository). PASS/FAIL per check; exit 0 = all passed.
#
#   bash benchmarks/dep_gpu.sh                          # CUDA: SmolLM2-135M-shaped random model, bf16
#   bash benchmarks/dep_gpu.sh --device cpu             # CPU (the test suite runs this, tiny sizes)
#   bash benchmarks/dep_gpu.sh --json out.json --steps 20 --size tiny --dtype float32   # see --help
#
# PYTHON=... picks the interpreter (default: .venv/bin/python when present, else python3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
py="${PYTHON:-}"
if [[ -z "$py" ]]; then
  if [[ -x "$root/.venv/bin/python" ]]; then py="$root/.venv/bin/python"; else py="$(command -v python3 || command -v python)"; fi
fi
echo "env script: $0 $*"
echo "env interpreter: $py ($("$py" -c 'import sys; print(sys.version.split()[0])'))"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv,noheader 2>/dev/null \
    | sed 's/^/env nvidia-smi: /' || true
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec "$py" "$here/dep_gpu.py" "$@"
