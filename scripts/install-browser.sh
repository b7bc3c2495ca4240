#!/usr/bin/env bash
# Installs what the web demo's browser tests need: Debian's chromium (Playwright drives it
# through executable_path; nothing downloads a browser build of its own) and Playwright for
# Python into the given virtual environment's bin folder.
set -euo pipefail
bin=${1:-.venv/bin}
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "install-browser: chromium is missing; run as root or: sudo apt-get install chromium" >&2
        exit 1
    fi
fi
"$bin/pip" install --quiet playwright
