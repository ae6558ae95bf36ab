#!/usr/bin/env bash
# Prepares the VS Code extension and its tests on a fresh Debian machine (as root): system packages,
# npm dependencies, the bundle and the .vsix. Idempotent: what is already there is not redone.
# Afterwards: `npm test` (unit) and `e2e/node_modules/node/bin/node e2e/run-e2e.mjs` (end to end),
# or tests/editors/test_vscode.py, which runs both.
set -euo pipefail
cd "$(dirname "$0")/.."
here=$PWD

log() { echo "[ci-setup $(date +%H:%M:%S)] $*"; }

# --- system packages ---------------------------------------------------------------------------
# chromium: the browser the e2e test drives. libkrb5-dev, make, g++: code-server's postinstall
# compiles VS Code's native modules (kerberos among them). npm: only when no Node is installed yet;
# any version does, since the npm package `node` below brings Node 24.
packages=()
command -v chromium >/dev/null || packages+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || packages+=(libkrb5-dev)
command -v make >/dev/null || packages+=(make)
command -v g++ >/dev/null || packages+=(g++)
command -v python3 >/dev/null || packages+=(python3)
command -v npm >/dev/null || packages+=(nodejs npm)
if [ ${#packages[@]} -gt 0 ]; then
  log "apt-get install ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${packages[@]}"
fi

export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

# Whether node_modules was installed from this very package-lock.json (and finished).
installed() {
  [ -f "$1/node_modules/.ci-setup-stamp" ] && cmp -s "$1/package-lock.json" "$1/node_modules/.ci-setup-stamp"
}
stamp() { cp "$1/package-lock.json" "$1/node_modules/.ci-setup-stamp"; }

# --- e2e tooling: Node 24, code-server, playwright-core ------------------------------------------
# Install scripts are skipped at first (code-server's refuses to run under any Node but 24), then
# run in order: the `node` package fetches Node 24, and with it first on PATH, code-server's
# postinstall installs the modules VS Code itself needs.
if ! installed e2e; then
  log "npm ci in e2e/"
  (cd e2e && npm ci --ignore-scripts && npm rebuild node)
  (cd e2e && PATH="$here/e2e/node_modules/node/bin:$PATH" npm rebuild code-server)
  stamp e2e
fi
export PATH="$here/e2e/node_modules/node/bin:$PATH"
log "node $(node --version)"

# --- the extension ----------------------------------------------------------------------------
if ! installed .; then
  log "npm ci"
  npm ci
  stamp .
fi
log "build"
npm run build
log "package"
rm -f recode-*.vsix
npm run package
log "done: $(ls recode-*.vsix)"
