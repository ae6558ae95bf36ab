#!/usr/bin/env bash
# Regenerates the README's pictures (images/status-item.png, images/hover.png, images/problems-panel.png)
# with the end-to-end test: the packaged .vsix in code-server, in headless Chromium at 1280x800.
# Needs scripts/ci-setup.sh to have run; RECODE_PYTHON as for the e2e test.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/e2e/node_modules/node/bin:$PATH"
npm run build
rm -f recode-*.vsix
npm run package
RECODE_E2E_SCREENSHOTS="$PWD/images" node e2e/run-e2e.mjs
ls -l images/
