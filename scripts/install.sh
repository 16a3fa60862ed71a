#!/usr/bin/env bash
# Install twinbench into ./.venv (Python >= 3.11). With --dev, also the test tools.
# As root on Debian/Ubuntu it installs the system libraries Qt and VTK need (and, with --dev,
# Xvfb, OSMesa and mosquitto for the headless GUI and live-data tests).
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[[ "${1:-}" == "--dev" ]] && dev=1

py=${PYTHON:-python3}
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "twinbench needs Python >= 3.11; set PYTHON=/path/to/python3.11 and run again" >&2
  exit 1
fi

if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  pkgs=(libgl1 libegl1 libglx-mesa0 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3 libfontconfig1
        libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0
        libxcb-randr0 libxcb-render-util0 libxcb-image0 libxrender1 libxi6 libxtst6)
  # librsvg2-bin: rsvg-convert, the second renderer of the SVG export test
  (( dev )) && pkgs+=(xvfb xauth libosmesa6 mosquitto librsvg2-bin)
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if (( ${#missing[@]} )); then
    echo "installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

[[ -x .venv/bin/python ]] || "$py" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if (( dev )); then
  .venv/bin/python -m pip install -q -e ".[dev]"
else
  .venv/bin/python -m pip install -q -e .
fi
echo "compiling the twin kernel into the per-user cache (once per kernel version, about a minute on two cores)..."
.venv/bin/python -c "from kernels.warmup import warm_up; warm_up()"
echo "twinbench installed in $(pwd)/.venv"
