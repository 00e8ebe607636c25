#!/usr/bin/env bash
# Installs terp-actions into a private virtual environment under $RUNNER_TEMP, once per job, with
# uv: uv itself comes from the hash-locked actions/setup/uv.lock (pip checks its hashes), then
# uv installs the dependencies from the hash-locked requirements.lock (wheels only, no build
# step). The package itself is this checkout of the action's repository, linked with a .pth file.
# Downloads are kept under $RUNNER_TEMP/terp-actions/cache, which jobs without the DigitalOcean
# token restore with actions/cache; every install checks the locked hashes, cached or not.
# Prints python=<path of the venv's interpreter> to $GITHUB_OUTPUT.
set -euo pipefail

: "${TERP_PYTHON:?TERP_PYTHON must name the Python interpreter to build the venv with}"
: "${RUNNER_TEMP:?RUNNER_TEMP is not set: this script runs inside a GitHub Actions job}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
lock="$root/requirements.lock"
uv_lock="$root/actions/setup/uv.lock"
home="$RUNNER_TEMP/terp-actions"
venv="$home/venv"
python="$venv/bin/python"
export UV_CACHE_DIR="$home/cache/uv" PIP_CACHE_DIR="$home/cache/pip" UV_NO_CONFIG=1 UV_PYTHON_DOWNLOADS=never
stamp="$("$TERP_PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read() + open(sys.argv[2], "rb").read()).hexdigest())' "$lock" "$uv_lock")-$root"

if [ -f "$venv/.terp-actions-installed" ] && [ "$(cat "$venv/.terp-actions-installed")" = "$stamp" ]; then
  echo "terp-actions is already installed in $venv"
else
  tools="$home/uv"
  if [ ! -x "$tools/bin/uv" ]; then
    "$TERP_PYTHON" -m pip install --disable-pip-version-check --no-input --quiet \
      --require-hashes --no-deps --only-binary=:all: --target "$tools" --requirement "$uv_lock"
  fi
  uv="$tools/bin/uv"
  "$uv" venv --quiet --clear --python "$TERP_PYTHON" "$venv"
  "$uv" pip install --quiet --python "$python" --require-hashes --no-deps --only-binary=:all: \
    --requirement "$lock"
  site="$("$python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
  printf '%s\n' "$root/src" > "$site/terp_actions.pth"
  "$python" -m terp_actions --version
  printf '%s\n' "$stamp" > "$venv/.terp-actions-installed"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  printf 'python=%s\n' "$python" >> "$GITHUB_OUTPUT"
fi
