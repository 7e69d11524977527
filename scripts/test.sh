#!/usr/bin/env bash
# Install everything the test suite needs, then run ALL of it (CI runs exactly this via .ci/run).
# Works from a clean clone on a fresh Debian machine as root; idempotent, and quick when already
# installed: apt only runs for missing tools, pip and npm only when their inputs changed.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: need root (or sudo) to run: $*" >&2; exit 2
  fi
}

# --- system packages: Chromium (webgl tests), nginx (HTTP publish tests), node/npm, python venv
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- Python: .venv with the package, its converter extra [tensorflow] and [dev], reinstalled when pyproject.toml changes
stamp() { sha256sum "$1" | cut -d' ' -f1; }
[ -x .venv/bin/python ] || { log "python3 -m venv .venv"; python3 -m venv .venv; }
if [ "$(cat .venv/.tfjs-build-deps 2>/dev/null)" != "$(stamp pyproject.toml)" ]; then
  # editable_mode=compat: a plain path entry; setuptools' default import hook costs every tfjs-build start ~15 ms
  log "pip install -e '.[tensorflow,dev]'"
  .venv/bin/python -m pip install -q --disable-pip-version-check --config-settings editable_mode=compat \
    -e '.[tensorflow,dev]'
  stamp pyproject.toml > .venv/.tfjs-build-deps
fi

# --- TF.js runtime (@tensorflow/tfjs, -backend-wasm, puppeteer-core), exactly as locked
js=tfjs_build/verify/js
if [ "$(cat $js/node_modules/.tfjs-build-lock 2>/dev/null)" != "$(stamp $js/package-lock.json)" ]; then
  log "npm ci --prefix $js"
  npm ci --prefix "$js" --no-audit --no-fund
  stamp $js/package-lock.json > $js/node_modules/.tfjs-build-lock
fi

# --- linters (configured in pyproject.toml): zero findings, or the run fails before the tests
log "ruff + mypy"
.venv/bin/python -m ruff check .
.venv/bin/python -m mypy

# --- the whole suite: every marker selected (slow, node, browser), a timeout per test
export TFJS_BUILD_CHROMIUM="${TFJS_BUILD_CHROMIUM:-$(command -v chromium)}"
log "pytest (all tests)"
status=0
.venv/bin/python -m pytest -m "not browser or browser" --timeout="${TEST_TIMEOUT:-900}" --durations=15 -p no:cacheprovider "$@" || status=$?
if [ "$status" -eq 5 ]; then echo "error: pytest collected no tests" >&2; fi
exit "$status"
