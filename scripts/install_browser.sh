#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the rendering test
# (tests/test_render_browser.py). Idempotent: does nothing when /usr/bin/chromium exists.
# Needs root (or sudo) and apt; on other systems install any Chromium/Chrome and set
# SPACY_JERE_CHROMIUM=/path/to/binary instead.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-get not found: install Chromium with your package manager and set SPACY_JERE_CHROMIUM" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "installing chromium needs root: run this script as root or install sudo" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
echo "installed: $(/usr/bin/chromium --version 2>/dev/null)"
