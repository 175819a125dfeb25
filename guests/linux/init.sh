#!/bin/sh
# /init of the tsvm Linux guest (busybox). Kernel parameter tsvm.mode selects what it does:
#   tsvm.mode=bench (default)  print a marker, run a CPU-bound job, print its timing, reboot -f
#   tsvm.mode=shell            print a marker and start an interactive shell on the console
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

mode=bench
for word in $(cat /proc/cmdline); do
  case "$word" in
    tsvm.mode=*) mode="${word#tsvm.mode=}" ;;
  esac
done

# /proc/uptime in hundredths of a second. "1${frac} - 100" keeps a fraction like 08 from being read
# as an octal number by the shell's arithmetic.
uptime_cs() {
  read -r up _ < /proc/uptime
  echo $(( ${up%.*} * 100 + 1${up#*.} - 100 ))
}

echo "TSVM-LINUX-MARKER: init started (mode $mode)"
case "$mode" in
  shell)
    echo "TSVM-LINUX-SHELL: type commands; 'reboot -f' leaves the machine"
    exec setsid cttyhack sh
    ;;
  *)
    start=$(uptime_cs)
    sha=$(dd if=/dev/zero bs=1M count=8 2>/dev/null | sha256sum)
    md5=$(dd if=/dev/zero bs=1M count=8 2>/dev/null | md5sum)
    end=$(uptime_cs)
    echo "TSVM-LINUX-JOB: sha256 ${sha%% *}"
    echo "TSVM-LINUX-JOB: md5 ${md5%% *}"
    echo "TSVM-LINUX-JOB-DONE: $((end - start))0 ms of guest time"
    reboot -f
    ;;
esac
