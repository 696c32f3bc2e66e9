#!/usr/bin/env bash
# Adds to .deps/usr what the GPU machine lacks beyond ../shared/gpu/stage-deps.sh's list:
# simdjson (the trace reader) and OpenSSL's libcrypto headers (SHA-256), with their
# Debian libraries. Run after stage-deps.sh, from the project's root:
#   ../shared/gpu/stage-deps.sh && scripts/stage-gpu-extras.sh
set -euo pipefail
root=$(git rev-parse --show-toplevel)
dest="$root/.deps"
pkgs=(libsimdjson-dev libsimdjson14 libssl-dev libssl3)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for p in "${pkgs[@]}"; do
  dpkg -L "$p" | while read -r f; do
    [[ (-f $f || -L $f) && $f == /usr/* ]] || continue
    case $f in /usr/share/doc/*|/usr/share/man/*|/usr/share/lintian/*|/usr/bin/*) continue ;; esac
    mkdir -p "$dest$(dirname "$f")"
    cp -P "$f" "$dest$f"
  done
done
du -sh "$dest"
