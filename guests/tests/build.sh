#!/usr/bin/env bash
# Assembles every test program in this folder (or the ones named) into its 64 KiB ROM image. The
# binaries are committed, so running the tests needs no assembler.
set -euo pipefail
cd "$(dirname "$0")"
command -v nasm >/dev/null || { echo "nasm is needed: apt-get install -y nasm" >&2; exit 1; }
if [ $# -gt 0 ]; then names=("$@"); else names=(*.asm); fi
for src in "${names[@]}"; do
  area="${src%.asm}"
  nasm -f bin -o "$area.bin" "$area.asm"
  echo "built $area.bin ($(stat -c %s "$area.bin") bytes)"
done
