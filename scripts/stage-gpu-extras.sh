#!/usr/bin/env bash
# Adds to .deps/usr what the GPU machine lacks beyond ../shared/gpu/stage-deps.sh's list:
# simdjson (the trace reader), OpenSSL's libcrypto (SHA-256), PCRE2 and utf8proc (the
# tokenizers) and libcurl (the serving client), with their Debian libraries and the shared
# libraries those load that are not glibc's (scripts/gpu-run puts them last on the library
# path, so that the machine's own win). pkg-config files are made relative to where they lie.
# Run after stage-deps.sh, from the project's root:
#   ../shared/gpu/stage-deps.sh && scripts/stage-gpu-extras.sh
set -euo pipefail
root=$(git rev-parse --show-toplevel)
dest="$root/.deps"
pkgs=(libsimdjson-dev libsimdjson14 libssl-dev libssl3 libpcre2-dev libpcre2-8-0 libutf8proc-dev
      libutf8proc2 libcurl4-openssl-dev libcurl4)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for p in "${pkgs[@]}"; do
  dpkg -L "$p" | while read -r f; do
    [[ (-f $f || -L $f) && $f == /usr/* ]] || continue
    # Shared libraries only: their static archives would fill the carry (64 MiB).
    case $f in /usr/share/doc/*|/usr/share/man/*|/usr/share/lintian/*|/usr/bin/*|*.a) continue ;; esac
    mkdir -p "$dest$(dirname "$f")"
    cp -P "$f" "$dest$f"
  done
done
# What those libraries load, glibc's and the compiler's own excepted.
lib="$dest/usr/lib/x86_64-linux-gnu"
for so in libcurl.so.4 libpcre2-8.so.0 libutf8proc.so.2 libcrypto.so.3 libsimdjson.so.14; do
  ldd "$lib/$so" | awk '/=> \//{print $3}' | while read -r dep; do
    case $(basename "$dep") in
      libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|libresolv.so*|libstdc++.so*|libgcc_s.so*)
        continue ;;
    esac
    [[ -e $lib/$(basename "$dep") ]] || cp -L "$dep" "$lib/"
  done
done
# Debian's .pc files say prefix=/usr; on the GPU machine they must point here.
for pc in "$lib"/pkgconfig/*.pc; do
  sed -i 's|^prefix=/usr$|prefix=${pcfiledir}/../../..|' "$pc"
done
du -sh "$dest"
