#!/bin/sh
# metalplane discovery agent: prints this machine's hardware as one JSON document on stdout.
# Runs under busybox sh. SYSFS and PROCFS point it at another tree (tests use captured data).
# Version {{ version }}
SYSFS=${SYSFS:-/sys}
PROCFS=${PROCFS:-/proc}

# The helpers set variables instead of printing, so the common case forks nothing (forks are
# slow on a freshly booted machine, and a GPU server has hundreds of PCI functions).
# J: the JSON string of $1 (quoted; control characters dropped), or null when empty.
js() {
  case "$1" in
    '') J=null ;;
    *'"'*|*'\'*|*[[:cntrl:]]*) J="\"$(printf '%s' "$1" | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')\"" ;;
    *) J="\"$1\"" ;;
  esac
}
# R: first line of file $1, trailing blanks trimmed; empty (and status 1) when unreadable.
rd() { R=; [ -r "$1" ] || return 1; IFS= read -r R < "$1" 2>/dev/null; R=${R%"${R##*[![:space:]]}"}; return 0; }
# R as a JSON string.
rj() { rd "$1"; js "$R"; }
# N: $1 if it is an integer, else null.
num() { case "$1" in ''|*[!0-9-]*) N=null ;; *) N=$1 ;; esac; }
# H: $1 as lowercase hex without 0x (sysfs prints lowercase).
hx() { H=${1#0x}; case "$H" in *[A-F]*) H=$(printf '%s' "$H" | tr 'A-F' 'a-f') ;; esac; }

dmi() {
  d=$SYSFS/class/dmi/id
  rj $d/sys_vendor; a=$J; rj $d/product_name; b=$J; rj $d/product_serial; c=$J; rj $d/product_uuid; u=$J; rj $d/board_serial; e=$J
  printf '"dmi":{"vendor":%s,"product":%s,"serial":%s,"uuid":%s,"boardSerial":%s}' "$a" "$b" "$c" "$u" "$e"
}

cpu() {
  f=$PROCFS/cpuinfo
  model=; threads=0; flags=
  if [ -r "$f" ]; then
    model=$(grep -m1 '^model name' $f | sed -e 's/^[^:]*: *//')
    threads=$(grep -c '^processor' $f)
    flags=$(grep -m1 '^flags' $f)
    # sockets: distinct physical ids; cores: sum of "cpu cores" over them
    set -- $(awk -F': *' '/^physical id/{p=$2; s[p]=1} /^cpu cores/{c[p]=$2} END{n=0; k=0; for (x in s) k++; for (x in c) n+=c[x]; print k, n}' $f)
    sockets=${1:-0}; cores=${2:-0}
  fi
  threads=${threads:-0}
  [ "${sockets:-0}" -eq 0 ] && sockets=1
  [ "${cores:-0}" -eq 0 ] && cores=$threads
  virt=
  case " $flags " in *' vmx '*) virt='"vmx"' ;; esac
  case " $flags " in *' svm '*) virt=${virt:+$virt,}'"svm"' ;; esac
  js "$model"
  printf '"cpu":{"model":%s,"sockets":%s,"cores":%s,"threads":%s,"virtualization":[%s]}' "$J" "$sockets" "$cores" "$threads" "$virt"
}

memory() {
  kb=0
  if [ -r $PROCFS/meminfo ]; then
    while read -r k v _; do [ "$k" = MemTotal: ] && { kb=$v; break; }; done < $PROCFS/meminfo
  fi
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
    js "$name"; jname=$J
    rj $n/address; jmac=$J
    drv=
    [ -L "$n/device/driver" ] && { drv=$(readlink "$n/device/driver"); drv=${drv##*/}; }
    js "$drv"; jdrv=$J
    rd $n/speed; num "$R"
    link=null
    rd $n/carrier; case "$R" in 1) link=true ;; 0) link=false ;; esac
    ips=
    if [ -z "$NO_IP" ] && command -v ip >/dev/null 2>&1; then
      for a in $(ip -4 -o addr show dev "$name" 2>/dev/null | awk '{print $4}'); do ips="${ips:+$ips,}\"$a\""; done
    fi
    printf '%s{"name":%s,"mac":%s,"driver":%s,"speedMbps":%s,"link":%s,"ipv4":[%s]}' "$sep" "$jname" "$jmac" "$jdrv" "$N" "$link" "$ips"
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
    rd $b/size; size=$(( ${R:-0} * 512 ))
    case "$name" in
      nvme*) type=nvme ;;
      vd*) type=virtio ;;
      sd*) type=scsi; rd $b/device/vendor; [ "$R" = ATA ] && type=sata ;;
      mmcblk*) type=mmc ;;
      *) type=other ;;
    esac
    rj $b/device/model; jmodel=$J
    rd $b/device/serial; [ -z "$R" ] && rd $b/serial; js "$R"; jserial=$J
    rd $b/eui; eui=$R
    [ -z "$eui" ] && { rd $b/nguid; eui=$R; }
    wwn=
    rd $b/wwid; wwid=$R
    [ -z "$wwid" ] && { rd $b/device/wwid; wwid=$R; }
    case "$wwid" in
      eui.*) [ -z "$eui" ] && eui=${wwid#eui.} ;;
      naa.*) wwn=${wwid#naa.} ;;
      0x*) wwn=${wwid#0x} ;;
    esac
    js "$eui"; jeui=$J; js "$wwn"; jwwn=$J
    rot=null
    rd $b/queue/rotational; case "$R" in 1) rot=true ;; 0) rot=false ;; esac
    printf '%s{"name":"%s","type":"%s","sizeBytes":%s,"model":%s,"serial":%s,"eui":%s,"wwn":%s,"rotational":%s}' \
      "$sep" "$name" "$type" "$size" "$jmodel" "$jserial" "$jeui" "$jwwn" "$rot"
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
    rd $p/vendor; hx "$R"; v=$H
    rd $p/device; hx "$R"; d=$H
    rd $p/class; hx "$R"; c=${H%??}
    printf '%s{"address":"%s","vendor":"%s","device":"%s","class":"%s"}' "$sep" "$addr" "$v" "$d" "$c"
    sep=,
    vn=
    case "$v" in 10de) vn=nvidia ;; 1002) vn=amd ;; 8086) vn=intel ;; 1da3) vn=habana ;; esac
    case "$c:$v" in
      03??:10de|03??:1002|12??:10de|12??:1002|12??:8086|12??:1da3)
        acc="${acc:+$acc,}{\"kind\":\"gpu\",\"vendor\":\"$vn\",\"model\":\"$v:$d\",\"pciAddress\":\"$addr\"}" ;;
    esac
  done
  printf '],"accelerators":[%s]' "$acc"
}

bmc() {
  command -v ipmitool >/dev/null 2>&1 || { printf '"bmc":null'; return; }
  out=$(ipmitool lan print 2>/dev/null) || { printf '"bmc":null'; return; }
  ip=$(printf '%s\n' "$out" | awk -F': *' '/^IP Address +:/{print $2; exit}')
  mac=$(printf '%s\n' "$out" | awk -F': *' '/^MAC Address +:/{print $2; exit}')
  js "$ip"; a=$J; js "$mac"
  printf '"bmc":{"ip":%s,"mac":%s}' "$a" "$J"
}

bootmode=bios
[ -d "$SYSFS/firmware/efi" ] && bootmode=uefi

host=$(hostname 2>/dev/null); [ "$host" = "(none)" ] && host=
js "{{ version }}"; jv=$J; js "$POLICY"; jp=$J; js "$host"; jh=$J; js "$BOOT_IP"; ji=$J
printf '{"agent":{"version":%s,"policy":%s},"bootMode":"%s","hostname":%s,"ip":%s,' "$jv" "$jp" "$bootmode" "$jh" "$ji"
dmi; printf ','
cpu; printf ','
memory; printf ','
nics; printf ','
disks; printf ','
pci; printf ','
bmc
printf '}\n'
