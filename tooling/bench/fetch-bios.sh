#!/usr/bin/env bash
# Fetch the BIOS v86 boots with: Debian's seabios package, unpacked into tooling/bench/cache/ (outside
# git) and reused. v86 needs the 128 KiB bios.bin; the package's 256 KiB bios-256k.bin overlaps v86's
# VGA ROM. Headless, v86 needs no VGA BIOS. Also says how to get QEMU when it is missing.
#
#   bash tooling/bench/fetch-bios.sh    -> tooling/bench/cache/seabios/usr/share/seabios/bios.bin
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="$here/cache"
mkdir -p "$cache"
cd "$cache"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! ls seabios_*.deb >/dev/null 2>&1; then
  apt-cache show seabios >/dev/null 2>&1 || as_root apt-get update -qq
  echo "downloading seabios" >&2
  apt-get download -qq seabios >&2 2>/dev/null || apt-get download seabios >&2
fi
deb=$(ls seabios_*.deb | sort | tail -n 1)
rm -rf "$cache/seabios"
dpkg-deb -x "$deb" "$cache/seabios"
bios="$cache/seabios/usr/share/seabios/bios.bin"
[ -f "$bios" ] || { echo "no bios.bin in $deb" >&2; exit 1; }
echo "bios: $bios ($deb, $(stat -c %s "$bios") bytes)"
command -v qemu-system-i386 >/dev/null ||
  echo "qemu-system-i386 is missing: apt-get install qemu-system-x86 (the benchmark skips QEMU without it)" >&2
