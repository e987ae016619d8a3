#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed at /usr/bin/chromium for the dashboard's browser tests
# (test/browser, driven by playwright-core). Idempotent: does nothing when it is already there.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "ensure-chromium: $CHROMIUM is missing and installing it needs root (no sudo found)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when apt does not know the package yet (a fresh image has none).
if ! apt-cache show chromium >/dev/null 2>&1; then
  "${as_root[@]}" apt-get update -q
fi
# Recommends would pull in printing, audio and desktop daemons a headless test never uses; a font
# is the one thing worth having, so that screenshots show text.
"${as_root[@]}" apt-get install -y -q --no-install-recommends chromium fonts-liberation

if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: apt-get installed chromium but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null)"
