#!/usr/bin/env bash
# Installs Debian's Chromium (and a monospace font for the timeline's labels) for viz's browser test,
# viz/tests/browser. Safe to run again: it does nothing when both are already there.
set -euo pipefail

have_chromium() { command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; }
have_font() { [ -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ]; }

if have_chromium && have_font; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y chromium fonts-dejavu-core
have_chromium
