#!/usr/bin/env bash
# Builds the boot-sector guest: boot.bin (the boot sector and the sector it reads, committed) and
# disk.img, a 1 MiB raw hard disk image holding it (not committed).
# Needs nasm (Debian's nasm package).
set -euo pipefail
cd "$(dirname "$0")"
nasm -f bin boot.asm -o boot.bin
cp boot.bin disk.img
truncate -s 1M disk.img
echo "built $(pwd)/boot.bin and disk.img"
