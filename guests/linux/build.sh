#!/usr/bin/env bash
# Build the Linux guest from Debian's packages: the i386 686-flavour kernel (vmlinuz, a bzImage) and
# an initramfs with busybox-static and init.sh as /init.
#
#   guests/linux/build.sh            -> guests/linux/out/vmlinuz, guests/linux/out/initramfs.cpio.gz
#
# Downloads go to guests/linux/cache/ (outside git) and are reused. Needs apt-get (run as root the first
# time: it enables the i386 architecture in apt's lists) and cpio, which it installs when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="$here/cache"
out="$here/out"
mkdir -p "$cache" "$out"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! dpkg --print-foreign-architectures | grep -qx i386; then
  as_root dpkg --add-architecture i386
  as_root apt-get update -qq
fi
if ! apt-cache show busybox-static:i386 >/dev/null 2>&1; then
  as_root apt-get update -qq
fi
command -v cpio >/dev/null || as_root apt-get install -y -qq cpio >/dev/null

# The kernel package the linux-image-686 meta-package points at (e.g. linux-image-6.1.0-50-686).
kernel_pkg=$(apt-cache depends linux-image-686:i386 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
kernel_pkg=${kernel_pkg%:i386}
[ -n "$kernel_pkg" ] || { echo "cannot find the kernel package behind linux-image-686:i386" >&2; exit 1; }

cd "$cache"
fetch() { # package[:arch]
  local name="$1" base="${1%%:*}"
  if ! ls "${base}"_*.deb >/dev/null 2>&1; then
    echo "downloading $name" >&2
    apt-get download -qq "$name" >&2 2>/dev/null || apt-get download "$name" >&2
  fi
  ls "${base}"_*.deb | sort | tail -n 1
}
kernel_deb=$(fetch "$kernel_pkg:i386")
busybox_deb=$(fetch "busybox-static:i386")

rm -rf "$cache/kernel" "$cache/busybox" "$cache/root"
dpkg-deb -x "$kernel_deb" "$cache/kernel"
dpkg-deb -x "$busybox_deb" "$cache/busybox"
cp "$(ls "$cache"/kernel/boot/vmlinuz-* | head -n 1)" "$out/vmlinuz"

root="$cache/root"
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/etc"
cp "$cache/busybox/bin/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 "$here/init.sh" "$root/init"
echo "root:x:0:0:root:/:/bin/sh" > "$root/etc/passwd"
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet) | gzip -9n > "$out/initramfs.cpio.gz"

echo "kernel:    $out/vmlinuz ($kernel_pkg, $(stat -c %s "$out/vmlinuz") bytes)"
echo "initramfs: $out/initramfs.cpio.gz ($(stat -c %s "$out/initramfs.cpio.gz") bytes)"
