#!/usr/bin/env bash
# Assemble the demo guest. The binary is committed, so running the demo needs no assembler.
set -euo pipefail
cd "$(dirname "$0")"
command -v nasm >/dev/null || { echo "nasm is needed: apt-get install -y nasm" >&2; exit 1; }
nasm -f bin -o demo.bin demo.asm
echo "built $(pwd)/demo.bin ($(stat -c %s demo.bin) bytes)"
