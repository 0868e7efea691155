#!/usr/bin/env bash
# Fetch the third-party art the clip-art source animates (optional: without
# it, clip-art shots fall back to the other sources).
#   OpenMoji (CC BY-SA 4.0), npm package `openmoji`  -> data/openmoji
#   Openclipart (public domain), Debian `openclipart-svg` -> /usr/share/openclipart
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p data
if [ ! -d data/openmoji/color/svg ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent openmoji >/dev/null)
  mkdir -p data/openmoji
  tar -xzf "$tmp"/openmoji-*.tgz -C data/openmoji --strip-components=1
  rm -rf "$tmp"
fi
if [ ! -d /usr/share/openclipart/svg ]; then
  apt-get update -qq && apt-get install -y -qq openclipart-svg
fi
echo "OpenMoji: data/openmoji; Openclipart: /usr/share/openclipart/svg"
