#!/usr/bin/env bash
# Installs terp-actions into a private virtual environment under $RUNNER_TEMP, once per job,
# with uv when the runner has it and pip otherwise.
# Dependencies come only from the hash-locked requirements.lock (wheels only, no build step);
# the package itself is this checkout of the action's repository, linked with a .pth file.
# Prints python=<path of the venv's interpreter> to $GITHUB_OUTPUT.
set -euo pipefail

: "${TERP_PYTHON:?TERP_PYTHON must name the Python interpreter to build the venv with}"
: "${RUNNER_TEMP:?RUNNER_TEMP is not set: this script runs inside a GitHub Actions job}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
lock="$root/requirements.lock"
venv="$RUNNER_TEMP/terp-actions/venv"
python="$venv/bin/python"
stamp="$("$TERP_PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$lock")-$root"

if [ -f "$venv/.terp-actions-installed" ] && [ "$(cat "$venv/.terp-actions-installed")" = "$stamp" ]; then
  echo "terp-actions is already installed in $venv"
else
  if command -v uv >/dev/null 2>&1; then
    # uv, when the runner has it, is several times faster; the same hash-locked file decides.
    uv venv --quiet --python "$TERP_PYTHON" "$venv"
    uv pip install --quiet --python "$python" --require-hashes --no-deps --only-binary=:all: \
      --requirement "$lock"
  else
    "$TERP_PYTHON" -m venv --clear "$venv"
    "$python" -m pip install --disable-pip-version-check --no-input --quiet \
      --require-hashes --no-deps --only-binary=:all: --requirement "$lock"
  fi
  site="$("$python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
  printf '%s\n' "$root/src" > "$site/terp_actions.pth"
  "$python" -m terp_actions --version
  printf '%s\n' "$stamp" > "$venv/.terp-actions-installed"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  printf 'python=%s\n' "$python" >> "$GITHUB_OUTPUT"
fi
