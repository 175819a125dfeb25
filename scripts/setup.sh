#!/usr/bin/env bash
# Install everything tsvm needs on a fresh Debian machine with Node.js 20: pnpm, the workspace's
# packages, the Debian tools the tests use (nasm, qemu-img), and the Linux guest the end-to-end tests
# boot (guests/linux: Debian's i386 kernel and busybox, downloaded once into guests/linux/cache).
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=12.4.2
export TURBO_TELEMETRY_DISABLED=1

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION" >&2
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi

need=()
command -v nasm >/dev/null || need+=(nasm)
command -v qemu-img >/dev/null || need+=(qemu-utils)
[ -f /usr/share/seabios/bios-256k.bin ] || need+=(seabios)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${need[*]} from Debian" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "setup: ${need[*]} missing and cannot be installed here (needs root and apt-get); tests that need them are skipped" >&2
  fi
fi

pnpm install --frozen-lockfile --reporter=silent

if ! bash guests/linux/build.sh; then
  echo "setup: the Linux guest could not be built (guests/linux/build.sh needs apt-get and root or sudo); the Linux boot tests will fail until it is" >&2
fi
