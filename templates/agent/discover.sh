#!/bin/sh
# metalplane discovery agent: prints this machine's hardware as one JSON document on stdout.
# Runs under busybox sh. SYSFS and PROCFS point it at another tree (tests use captured data).
# Version {{ version }}
SYSFS=${SYSFS:-/sys}
PROCFS=${PROCFS:-/proc}

# JSON string (with quotes) of $1; control characters dropped. "null" when empty.
js() {
  if [ -z "$1" ]; then printf 'null'; return; fi
  printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}
# First line of a file, trailing blanks trimmed; empty when unreadable.
rd() { [ -r "$1" ] && { head -n 1 "$1" 2>/dev/null | sed -e 's/[[:space:]]*$//'; } ; }
# Number or null.
num() { case "$1" in ''|*[!0-9-]*) printf 'null' ;; *) printf '%s' "$1" ;; esac; }
# Lowercase hex without 0x.
hx() { printf '%s' "$1" | tr 'A-F' 'a-f' | sed -e 's/^0x//'; }

dmi() {
  d=$SYSFS/class/dmi/id
  printf '"dmi":{"vendor":%s,"product":%s,"serial":%s,"uuid":%s,"boardSerial":%s}' \
    "$(js "$(rd $d/sys_vendor)")" "$(js "$(rd $d/product_name)")" "$(js "$(rd $d/product_serial)")" \
    "$(js "$(rd $d/product_uuid)")" "$(js "$(rd $d/board_serial)")"
}

cpu() {
  f=$PROCFS/cpuinfo
  model=$(grep -m1 '^model name' $f 2>/dev/null | sed -e 's/^[^:]*: *//')
  threads=$(grep -c '^processor' $f 2>/dev/null)
  sockets=$(grep '^physical id' $f 2>/dev/null | sort -u | wc -l)
  # cores: sum of "cpu cores" over distinct physical ids
  cores=$(awk -F': *' '/^physical id/{p=$2} /^cpu cores/{c[p]=$2} END{n=0; for (k in c) n+=c[k]; print n}' $f 2>/dev/null)
  threads=${threads:-0}
  [ "${sockets:-0}" -eq 0 ] && sockets=1
  [ "${cores:-0}" -eq 0 ] && cores=$threads
  virt=
  flags=$(grep -m1 '^flags' $f 2>/dev/null)
  case " $flags " in *' vmx '*) virt='"vmx"' ;; esac
  case " $flags " in *' svm '*) virt=${virt:+$virt,}'"svm"' ;; esac
  printf '"cpu":{"model":%s,"sockets":%s,"cores":%s,"threads":%s,"virtualization":[%s]}' \
    "$(js "$model")" "$(num "$sockets")" "$(num "$cores")" "$(num "$threads")" "$virt"
}

memory() {
  kb=$(awk '/^MemTotal:/{print $2}' $PROCFS/meminfo 2>/dev/null)
  [ -n "$kb" ] || kb=0
  printf '"memory":{"totalBytes":%s}' "$((kb * 1024))"
}

nics() {
  printf '"nics":['
  sep=
  for n in $SYSFS/class/net/*; do
    [ -e "$n" ] || continue
    name=${n##*/}
    [ "$name" = lo ] && continue
    # only physical functions (with a device link): skips bridges, bonds, tunnels
    [ -e "$n/device" ] || continue
    mac=$(rd $n/address)
    drv=
    [ -L "$n/device/driver" ] && drv=$(basename "$(readlink "$n/device/driver")")
    speed=$(cat $n/speed 2>/dev/null)
    link=null
    case "$(rd $n/carrier)" in 1) link=true ;; 0) link=false ;; esac
    ips=
    if command -v ip >/dev/null 2>&1 && [ -z "$NO_IP" ]; then
      for a in $(ip -4 -o addr show dev "$name" 2>/dev/null | awk '{print $4}'); do ips="${ips:+$ips,}$(js "$a")"; done
    fi
    printf '%s{"name":%s,"mac":%s,"driver":%s,"speedMbps":%s,"link":%s,"ipv4":[%s]}' \
      "$sep" "$(js "$name")" "$(js "$mac")" "$(js "$drv")" "$(num "$speed")" "$link" "$ips"
    sep=,
  done
  printf ']'
}

disks() {
  printf '"disks":['
  sep=
  for b in $SYSFS/block/*; do
    [ -e "$b" ] || continue
    name=${b##*/}
    case "$name" in loop*|ram*|zram*|dm-*|md*|sr*|fd*|nbd*) continue ;; esac
    sz=$(rd $b/size)
    size=$(( ${sz:-0} * 512 ))
    case "$name" in
      nvme*) type=nvme ;;
      vd*) type=virtio ;;
      sd*) type=scsi; [ "$(rd $b/device/vendor)" = ATA ] && type=sata ;;
      mmcblk*) type=mmc ;;
      *) type=other ;;
    esac
    model=$(rd $b/device/model)
    serial=$(rd $b/device/serial)
    [ -z "$serial" ] && serial=$(rd $b/serial)
    eui=$(rd $b/eui)
    [ -z "$eui" ] && eui=$(rd $b/nguid)
    wwn=
    wwid=$(rd $b/wwid)
    [ -z "$wwid" ] && wwid=$(rd $b/device/wwid)
    case "$wwid" in
      eui.*) [ -z "$eui" ] && eui=${wwid#eui.} ;;
      naa.*) wwn=${wwid#naa.} ;;
      0x*) wwn=${wwid#0x} ;;
    esac
    rot=null
    case "$(rd $b/queue/rotational)" in 1) rot=true ;; 0) rot=false ;; esac
    printf '%s{"name":%s,"type":%s,"sizeBytes":%s,"model":%s,"serial":%s,"eui":%s,"wwn":%s,"rotational":%s}' \
      "$sep" "$(js "$name")" "$(js "$type")" "$size" "$(js "$model")" "$(js "$serial")" "$(js "$eui")" "$(js "$wwn")" "$rot"
    sep=,
  done
  printf ']'
}

# PCI functions, and the accelerators among them: display controllers (class 03xx) of NVIDIA
# (10de) or AMD (1002), processing accelerators (class 12xx) of NVIDIA, AMD, Intel, Habana.
pci() {
  printf '"pci":['
  sep=
  acc=
  for p in $SYSFS/bus/pci/devices/*; do
    [ -e "$p/vendor" ] || continue
    addr=${p##*/}
    v=$(hx "$(rd $p/vendor)")
    d=$(hx "$(rd $p/device)")
    c=$(hx "$(rd $p/class)" | cut -c1-4)
    printf '%s{"address":%s,"vendor":%s,"device":%s,"class":%s}' "$sep" "$(js "$addr")" "$(js "$v")" "$(js "$d")" "$(js "$c")"
    sep=,
    vn=
    case "$v" in 10de) vn=nvidia ;; 1002) vn=amd ;; 8086) vn=intel ;; 1da3) vn=habana ;; esac
    case "$c:$v" in
      03??:10de|03??:1002|12??:10de|12??:1002|12??:8086|12??:1da3)
        acc="${acc:+$acc,}{\"kind\":\"gpu\",\"vendor\":\"$vn\",\"model\":\"$v:$d\",\"pciAddress\":$(js "$addr")}" ;;
    esac
  done
  printf '],"accelerators":[%s]' "$acc"
}

bmc() {
  command -v ipmitool >/dev/null 2>&1 || { printf '"bmc":null'; return; }
  out=$(ipmitool lan print 2>/dev/null) || { printf '"bmc":null'; return; }
  ip=$(printf '%s\n' "$out" | awk -F': *' '/^IP Address +:/{print $2; exit}')
  mac=$(printf '%s\n' "$out" | awk -F': *' '/^MAC Address +:/{print $2; exit}')
  printf '"bmc":{"ip":%s,"mac":%s}' "$(js "$ip")" "$(js "$mac")"
}

bootmode=bios
[ -d "$SYSFS/firmware/efi" ] && bootmode=uefi

printf '{"agent":{"version":%s,"policy":%s},"bootMode":"%s","hostname":%s,"ip":%s,' \
  "$(js "{{ version }}")" "$(js "$POLICY")" "$bootmode" "$(js "$(hostname 2>/dev/null | grep -v "^(none)$")")" "$(js "$BOOT_IP")"
dmi; printf ','
cpu; printf ','
memory; printf ','
nics; printf ','
disks; printf ','
pci; printf ','
bmc
printf '}\n'
