#!/usr/bin/env bash
# Records what QEMU prints on the debug console (port 0xE9) for every test program's ROM image (or
# the areas named: `./record-expected.sh descriptors paging`) into <area>.expected. QEMU's CPU model
# is a Pentium II, the P6 the programs are written for. Build first (build.sh).
set -euo pipefail
cd "$(dirname "$0")"
command -v qemu-system-i386 >/dev/null || { echo "qemu-system-i386 is needed: apt-get install -y qemu-system-x86" >&2; exit 1; }
if [ $# -gt 0 ]; then areas=("${@%.asm}"); else areas=(); for f in *.bin; do areas+=("${f%.bin}"); done; fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for area in "${areas[@]}"; do
  [ -f "$area.bin" ] || { echo "$area.bin is missing: run ./build.sh $area.asm" >&2; exit 1; }
  : > "$out"
  status=0
  timeout 20 qemu-system-i386 -nodefaults -display none -cpu pentium2 -m 16 -bios "$area.bin" \
    -debugcon "file:$out" -device isa-debug-exit,iobase=0xf4,iosize=4 || status=$?
  # isa-debug-exit: the program wrote 0, QEMU exits with (0 << 1) | 1.
  if [ "$status" -ne 1 ]; then
    echo "$area: QEMU exited with status $status (1 expected: the program did not reach DONE)" >&2
    cat "$out" >&2
    exit 1
  fi
  cp "$out" "$area.expected"
  echo "recorded $area.expected ($(wc -l < "$area.expected") lines)"
done
