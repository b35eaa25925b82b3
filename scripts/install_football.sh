#!/usr/bin/env bash
# Install the real Google Research Football engine (gfootball) and rlsuite into one virtualenv.
#
#   scripts/install_football.sh [VENV_DIR]        (default: .venv-football in the repository)
#
# gfootball ships only as a source distribution, so pip compiles its C++ engine (CMake, Boost.Python,
# SDL2, EGL/GL); the first run takes about 6-8 minutes on 2 cores. The recipe (see
# docs/football.md and https://github.com/google-research/football#installation):
#   * Debian/Ubuntu build packages (installed with apt-get when missing; needs root or sudo),
#   * the build runs `python3 -c "import psutil"` from PATH, so the venv is activated and psutil is
#     installed in it, and the build runs with --no-build-isolation,
#   * `six` is an undeclared runtime dependency, and gym must be an old release (0.26 breaks reset()).
# The engine installs `pygame`, which collides with the `pygame-ce` that pettingzoo's extras pull in,
# so it lives in its own virtualenv, never in the main development one.
#
# Idempotent: an existing venv whose engine imports and steps is reused (only rlsuite is reinstalled,
# editable and without dependencies); a venv left half-built (no completion marker) is rebuilt.
set -euo pipefail

GFOOTBALL_VERSION="2.10.2"
GYM_VERSION="0.25.2"
TORCH_VERSION="2.13.0"
APT_PACKAGES=(cmake build-essential libgl1-mesa-dev libegl-dev libsdl2-dev libsdl2-image-dev
  libsdl2-ttf-dev libsdl2-gfx-dev libboost-python-dev libboost-thread-dev libboost-system-dev
  libboost-filesystem-dev python3-dev)

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${1:-$REPO_DIR/.venv-football}"
PYTHON="${PYTHON:-python3}"
MARKER="$VENV_DIR/.rlsuite-football-complete"

log() { echo "[install_football] $*" >&2; }

install_apt_packages() {
  local missing=()
  for package in "${APT_PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ ${#missing[@]} -eq 0 ]; then return 0; fi
  if ! command -v apt-get >/dev/null; then
    log "missing build packages (${missing[*]}) and no apt-get: install their equivalents by hand"
    exit 1
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  log "installing build packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${missing[@]}"
}

engine_works() {
  "$VENV_DIR/bin/python" - <<'PY' >/dev/null 2>&1
import gfootball.env as football_env
env = football_env.create_environment(
    env_name="academy_3_vs_1_with_keeper", representation="simple115v2", render=False)
env.reset()
env.step(0)
env.close()
PY
}

build_engine_venv() {
  log "building $VENV_DIR (gfootball $GFOOTBALL_VERSION, gym $GYM_VERSION)"
  rm -rf "$VENV_DIR"
  "$PYTHON" -m venv "$VENV_DIR"
  # The engine's build script calls `python3` from PATH: activating puts the venv's first.
  # shellcheck disable=SC1091
  . "$VENV_DIR/bin/activate"
  pip install -q --upgrade pip
  pip install -q psutil wheel "setuptools<81" six "gym==$GYM_VERSION"
  pip install -q "torch==$TORCH_VERSION"
  pip install --no-build-isolation "gfootball==$GFOOTBALL_VERSION"
  pip install -q "gym==$GYM_VERSION" six pytest
  deactivate
}

main() {
  install_apt_packages
  if [ -f "$MARKER" ] && engine_works; then
    log "reusing $VENV_DIR"
  else
    build_engine_venv
    engine_works || { log "the engine was built but does not step; see the log above"; exit 1; }
    touch "$MARKER"
  fi
  "$VENV_DIR/bin/pip" install -q -e "$REPO_DIR[football]"
  log "done: $VENV_DIR/bin/python -m pytest $REPO_DIR/tests/test_football_real.py"
}

main "$@"
