#!/bin/sh
# Facts about this host, printed in sections that metalplane parses (src/hosts/facts.ts).
# POSIX sh; every tool is optional: a missing one leaves its section empty.
export LC_ALL=C
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
section() { printf '\n@@metalplane-facts %s@@\n' "$1"; }
have() { command -v "$1" >/dev/null 2>&1; }

section os-release
cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null
section hostname
hostname 2>/dev/null || cat /proc/sys/kernel/hostname 2>/dev/null
section kernel
uname -r
section arch
uname -m
section cgroupfs
stat -fc %T /sys/fs/cgroup 2>/dev/null
section nproc
nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || grep -c '^processor' /proc/cpuinfo
section cpu-model
grep -m1 -E '^(model name|Hardware|cpu model|uarch)[[:space:]]*:' /proc/cpuinfo 2>/dev/null
section meminfo
grep -E '^(MemTotal|SwapTotal):' /proc/meminfo 2>/dev/null
section swaps
cat /proc/swaps 2>/dev/null
section lsblk
have lsblk && lsblk -J -b -o NAME,SIZE,TYPE,MODEL,SERIAL,ROTA,FSTYPE,MOUNTPOINT,TRAN 2>/dev/null
section disk-by-id
for l in /dev/disk/by-id/*; do
  [ -L "$l" ] && printf '%s %s\n' "$l" "$(readlink -f "$l")"
done 2>/dev/null
section ip-addr
have ip && ip -j addr 2>/dev/null
section sys-net
for d in /sys/class/net/*; do
  [ -e "$d" ] || continue
  printf '%s %s %s %s\n' "${d##*/}" "$(cat "$d/address" 2>/dev/null)" "$(cat "$d/operstate" 2>/dev/null)" "$(cat "$d/mtu" 2>/dev/null)"
done
section timedatectl
have timedatectl && timedatectl show -p NTPSynchronized -p NTP 2>/dev/null
section chrony
have chronyc && chronyc -n tracking 2>/dev/null | grep -E '^Leap status'
section time-services
for s in chrony chronyd systemd-timesyncd ntp ntpd ntpsec openntpd; do
  if have systemctl; then
    st=$(systemctl is-active "$s" 2>/dev/null)
    [ "$st" = active ] && echo "active $s"
  fi
done
for b in chronyd /lib/systemd/systemd-timesyncd /usr/lib/systemd/systemd-timesyncd ntpd; do
  if have "$b" || [ -x "$b" ]; then echo "installed ${b##*/}"; fi
done
section listen
if have ss; then ss -Htln 2>/dev/null; fi
section proc-net-tcp
cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
section product-uuid
cat /sys/class/dmi/id/product_uuid 2>/dev/null
section end
exit 0
