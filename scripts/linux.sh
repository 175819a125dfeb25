#!/usr/bin/env bash
# Boot the Linux guest (Debian's i386 kernel and a busybox initramfs, built by guests/linux/build.sh)
# with `tsvm run`, its serial console in this terminal.
#
#   scripts/linux.sh [shell|bench] [extra tsvm run flags...]
#
# shell (default): an interactive busybox shell; `reboot -f` or Ctrl-A X leaves.
# bench: /init runs a small CPU-bound job, prints its timing and reboots; the run then ends.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-shell}"
[ $# -gt 0 ] && shift
case "$mode" in
  shell|bench) ;;
  *) echo "usage: scripts/linux.sh [shell|bench] [tsvm run flags...]" >&2; exit 2 ;;
esac
[ -f guests/linux/out/vmlinuz ] || bash guests/linux/build.sh
[ -f apps/cli/dist/main.js ] || pnpm --filter 'tsvm...' build >/dev/null
# The kernel line: serial console, no ACPI/PCI/ISA-PnP probing, no crypto self-tests (see guests/linux).
append="console=ttyS0 reboot=t noisapnp pnpbios=off cryptomgr.notests pci=off acpi=off nolapic noapic i8042.nokbd i8042.noaux io_delay=none edd=off 8250.nr_uarts=1 tsvm.mode=$mode"
exec node apps/cli/dist/main.js run --kernel guests/linux/out/vmlinuz --initrd guests/linux/out/initramfs.cpio.gz \
  --append "$append" -m 128M --no-reboot "$@"
