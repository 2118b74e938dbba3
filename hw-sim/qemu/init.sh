#!/bin/busybox sh
# /init of the simulated Link device (copied into the initramfs by
# hw-sim/qemu/mkinitramfs.sh; runs as PID 1 under busybox sh).
#
# Design: do the least a device's early userspace does, then hand over to one
# command and power off.  Every step prints one "LJSIM: ..." marker line on the
# serial console so the host (boot.sh, tests) can follow the boot by reading
# the serial log; nothing else is parsed.
#
#   LJSIM: init-start uptime=S            /init began (S = guest /proc/uptime)
#   LJSIM: module-failed NAME             an insmod failed (boot goes on)
#   LJSIM: modules-loaded n=N
#   LJSIM: tpm dev=/dev/tpmrm0|none
#   LJSIM: net-up ip=A gw=G | net-failed REASON
#   LJSIM: state-disk dev=vdX dir=D | state-disk none | state-disk-failed ...
#   LJSIM: cmd-start path=P
#   LJSIM: cmd-exit rc=N uptime=S         the command's exit status
#   LJSIM: poweroff uptime=S
#
# Kernel command line knobs (read from /proc/cmdline; "lj.foo_bar=v" is
# exported to the command as LJ_FOO_BAR=v, so tests can pass values without
# rebuilding the initramfs; values cannot contain spaces):
#   lj.cmd=PATH          the command script (default /etc/sim/cmd.sh)
#   lj.net=static|dhcp|none   (default static 10.0.2.15/24 via 10.0.2.2)
#   lj.state_serial=S    virtio-blk serial of the state disk (default ljstate)
#   lj.state_dir=D       where it is mounted (default /var/lib/linkjoin)
BB=/bin/busybox
$BB mkdir -p /proc /sys /dev /tmp /run /root
$BB mount -t proc proc /proc
$BB --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=vt100
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run

up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "LJSIM: $*"; }
say "init-start uptime=$(up)"

for w in $(cat /proc/cmdline); do
    case $w in
    lj.*=*)
        k=${w%%=*}
        k=$(echo "${k#lj.}" | tr 'a-z.-' 'A-Z__')
        export "LJ_$k=${w#*=}"
        ;;
    esac
done

# Modules, in the order mkinitramfs.sh computed from modules.dep.
n=0
K=/lib/modules/$(uname -r)
if [ -f /etc/sim/modules.order ]; then
    while read -r m; do
        [ -n "$m" ] || continue
        if insmod "$K/$m" 2>/dev/null; then n=$((n + 1)); else say "module-failed $m"; fi
    done </etc/sim/modules.order
fi
say "modules-loaded n=$n"

if [ -c /dev/tpmrm0 ]; then say "tpm dev=/dev/tpmrm0"; else say "tpm dev=none"; fi

ip link set lo up
case ${LJ_NET:-static} in
none) say "net-failed disabled" ;;
dhcp)
    cat >/tmp/udhcpc.sh <<'EOS'
#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add "$ip/${mask:-24}" dev "$interface"
[ -n "$router" ] && ip route add default via "${router%% *}"
exit 0
EOS
    chmod 755 /tmp/udhcpc.sh
    ip link set eth0 up 2>/dev/null
    if udhcpc -i eth0 -n -q -t 5 -T 1 -s /tmp/udhcpc.sh >/dev/null 2>&1; then
        say "net-up ip=$(ip -4 -o addr show dev eth0 | awk '{print $4}') gw=$(ip route | awk '/default/{print $3}')"
    else
        say "net-failed dhcp"
    fi
    ;;
*)
    if ip link set eth0 up 2>/dev/null && ip addr add 10.0.2.15/24 dev eth0 &&
        ip route add default via 10.0.2.2; then
        say "net-up ip=10.0.2.15/24 gw=10.0.2.2"
    else
        say "net-failed no-eth0"
    fi
    ;;
esac

# Persistent state disk: the virtio-blk disk whose serial boot.sh set.
export LJ_STATE_DIR=${LJ_STATE_DIR:-/var/lib/linkjoin}
mkdir -p "$LJ_STATE_DIR"
sdev=
for s in /sys/block/*/serial; do
    [ -f "$s" ] || continue
    if [ "$(cat "$s")" = "${LJ_STATE_SERIAL:-ljstate}" ]; then
        sdev=${s%/serial}
        sdev=${sdev##*/}
    fi
done
if [ -z "$sdev" ]; then
    say "state-disk none"
elif mount -t ext4 -o noatime "/dev/$sdev" "$LJ_STATE_DIR"; then
    chmod 700 "$LJ_STATE_DIR"
    say "state-disk dev=$sdev dir=$LJ_STATE_DIR"
else
    sdev=
    say "state-disk-failed mount"
fi

# The command gets the serial port as its controlling terminal (the agent's
# tty UI reads and writes it); a subshell keeps setsid from forking away.
cmd=${LJ_CMD:-/etc/sim/cmd.sh}
tty=/dev/console
[ -c /dev/ttyS0 ] && tty=/dev/ttyS0
say "cmd-start path=$cmd"
if [ -f "$cmd" ]; then
    (exec setsid -c sh "$cmd") <"$tty" >"$tty" 2>&1
    rc=$?
else
    echo "init: no command script $cmd"
    rc=127
fi
sync
[ -n "$sdev" ] && umount "$LJ_STATE_DIR"
say "cmd-exit rc=$rc uptime=$(up)"
say "poweroff uptime=$(up)"
poweroff -f
