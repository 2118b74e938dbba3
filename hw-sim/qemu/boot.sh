#!/usr/bin/env bash
# hw-sim/qemu/boot.sh — boot the simulated Link device once, to poweroff.
#
# Starts a swtpm (its own state dir, unixio control socket, pid file) and
# qemu-system-x86_64 (TCG: KVM does not work on these hosts) with that TPM,
# an SMBIOS identity, virtio-net on user networking with restrict=on whose only
# way out is guestfwd GUEST_IP:PORT -> one `busybox nc 127.0.0.1 HOSTPORT` per
# connection, a virtio-rng, and optionally a persistent ext4 state disk
# (virtio-blk, serial "ljstate"; created and formatted from the host when
# missing).  Waits for QEMU to exit or the hard timeout, then stops QEMU,
# swtpm and every forwarder it started, by pid, and checks that none is left.
# All files it makes are under --work.
#
# Usage: boot.sh --work DIR [options]
#   --kernel DIR         fetch-kernel.sh output (default build/qemu/kernel)
#   --initrd FILE        (default build/qemu/initramfs.cpio.gz)
#   --serial-log FILE    (default WORK/serial.log); the guest's console
#   --console            also show the console live on stdout
#   --manufacturer S --product S --serial S     SMBIOS type 1 identity
#   --tpm-state DIR      swtpm state (default WORK/tpm; kept if present)
#   --tpm-if tis|crb     TPM interface (default tis)
#   --fwd IP:PORT=HOSTPORT   guest IP:PORT reaches 127.0.0.1:HOSTPORT (repeatable)
#   --disk IMG           persistent state disk image (raw)
#   --disk-mb N          size when it has to be created (default 16)
#   --append "ARGS"      more kernel parameters (lj.NAME=VALUE reach the guest
#                        command as LJ_NAME; see init.sh)
#   --timeout SEC        hard limit for the whole boot (default 120)
#   --mem MB             (default 256)
# Exit: the guest command's exit status (from "LJSIM: cmd-exit rc=N");
#       124 timed out; 125 setup failed or a process was left behind;
#       126 the guest never reported its command's end (crash, panic).
# Writes WORK/procs ("NAME PID" of swtpm and qemu; swtpm deletes its own pid
# file when it exits) and WORK/fwd.pids ("PID HOSTPORT" per forwarder).
# Writes WORK/timings (key=value): seconds from QEMU start to /init seen on
# the console and to QEMU exit, and the guest's own uptime at those points.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
export PATH=$PATH:/usr/sbin:/sbin
work= kdir=$top/build/qemu/kernel initrd=$top/build/qemu/initramfs.cpio.gz
log= console=0 manu="Microsoft Corporation" product="Windows 365 Link" serial=LJSIM-0001
tpmstate= tpmif=tis disk= disk_mb=16 append= timeout=120 mem=256
fwds=()
die() { echo "boot: $*" >&2; exit 125; }
while [ $# -gt 0 ]; do
    case $1 in
    --work) work=$2; shift 2 ;;
    --kernel) kdir=$2; shift 2 ;;
    --initrd) initrd=$2; shift 2 ;;
    --serial-log) log=$2; shift 2 ;;
    --console) console=1; shift ;;
    --manufacturer) manu=$2; shift 2 ;;
    --product) product=$2; shift 2 ;;
    --serial) serial=$2; shift 2 ;;
    --tpm-state) tpmstate=$2; shift 2 ;;
    --tpm-if) tpmif=$2; shift 2 ;;
    --fwd) fwds+=("$2"); shift 2 ;;
    --disk) disk=$2; shift 2 ;;
    --disk-mb) disk_mb=$2; shift 2 ;;
    --append) append=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    *) die "unknown option $1 (see the comment at the top of $0)" ;;
    esac
done
[ -n "$work" ] || die "--work DIR is required"
mkdir -p "$work" || die "cannot create $work"
work=$(cd "$work" && pwd)
# QEMU option strings use ',' as separator; keep paths plain.
case $work in *[,\ ]*) die "work dir must not contain ',' or spaces: $work" ;; esac
log=${log:-$work/serial.log}
tpmstate=${tpmstate:-$work/tpm}
case $tpmif in tis | crb) ;; *) die "--tpm-if must be tis or crb" ;; esac
[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout must be whole seconds"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not installed"
command -v swtpm >/dev/null || die "swtpm not installed"
[ -f "$kdir/vmlinuz" ] || die "no kernel at $kdir/vmlinuz (run hw-sim/qemu/fetch-kernel.sh)"
[ -f "$initrd" ] || die "no initramfs $initrd (run hw-sim/qemu/mkinitramfs.sh)"
sock=$work/swtpm.sock
[ ${#sock} -lt 100 ] || die "work dir path too long for a unix socket: $sock"

qpid= spid=
: >"$work/fwd.pids"
: >"$work/procs"

# ours PID TEXT: PID is alive and its command line has TEXT (a pid number
# alone could have been reused by someone else's process by now).
ours() {
    local c
    [ -n "$1" ] && c=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") && [[ $c == *"$2"* ]]
}
stop() {   # stop PID TEXT: TERM, then KILL; fails if it is still there
    local i
    ours "$1" "$2" || return 0
    kill "$1" 2>/dev/null
    for i in $(seq 40); do ours "$1" "$2" || return 0; sleep 0.05; done
    kill -9 "$1" 2>/dev/null
    for i in $(seq 40); do ours "$1" "$2" || return 0; sleep 0.05; done
    echo "boot: process $1 ($2) is still running" >&2
    return 1
}
cleanup() {
    local bad=0 p hp
    stop "$qpid" qemu-system-x86_64 || bad=1
    stop "$spid" "$sock" || bad=1
    while read -r p hp; do
        [ -n "$p" ] && { stop "$p" "nc 127.0.0.1 $hp" || bad=1; }
    done <"$work/fwd.pids"
    rm -f "$sock"
    return $bad
}
trap 'cleanup; exit 125' INT TERM HUP
trap 'cleanup' EXIT

# The state disk.
drive=()
if [ -n "$disk" ]; then
    if [ ! -f "$disk" ]; then
        command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 not installed (e2fsprogs)"
        truncate -s "${disk_mb}M" "$disk" && mkfs.ext4 -q -F -L ljstate "$disk" >/dev/null 2>&1 ||
            die "cannot create state disk $disk"
    fi
    drive=(-drive "file=${disk//,/,,},if=none,id=sd0,format=raw"
        -device virtio-blk-pci,drive=sd0,serial=ljstate)
fi

# swtpm: data channel handed to QEMU over the control socket.  It does not
# exit when QEMU does, so it is stopped by its pid afterwards.
mkdir -p "$tpmstate"
rm -f "$sock" "$work/swtpm.pid"
swtpm socket --tpm2 --tpmstate dir="$tpmstate" --ctrl type=unixio,path="$sock" \
    --log file="$work/swtpm.log",level=1 --pid file="$work/swtpm.pid" --daemon \
    2>"$work/swtpm.err" || die "swtpm failed: $(cat "$work/swtpm.err")"
for _ in $(seq 100); do [ -s "$work/swtpm.pid" ] && [ -S "$sock" ] && break; sleep 0.05; done
spid=$(cat "$work/swtpm.pid" 2>/dev/null)
[ -n "$spid" ] && [ -S "$sock" ] || die "swtpm did not come up: $(cat "$work/swtpm.err")"
echo "swtpm $spid" >>"$work/procs"

# User networking: restrict=on lets the guest reach nothing but the guestfwd
# targets.  Each guest connection runs its own forwarder (a `-tcp:` target
# would be connected once and serve one connection only); the wrapper records
# its pid so that none outlives the boot.
net="user,id=n0,restrict=on"
for f in ${fwds[@]+"${fwds[@]}"}; do
    [[ $f =~ ^([0-9.]+):([0-9]+)=([0-9]+)$ ]] || die "bad --fwd $f (want IP:PORT=HOSTPORT)"
    w=$work/fwd-${BASH_REMATCH[1]}-${BASH_REMATCH[2]}.sh
    printf '#!/bin/sh\necho "$$ %s" >>%s\nexec /bin/busybox nc 127.0.0.1 %s\n' \
        "${BASH_REMATCH[3]}" "$work/fwd.pids" "${BASH_REMATCH[3]}" >"$w"
    chmod 755 "$w"
    net+=",guestfwd=tcp:${BASH_REMATCH[1]}:${BASH_REMATCH[2]}-cmd:$w"
done

if [ "$console" = 1 ]; then
    serdev="stdio,id=ser0,logfile=$log,signal=off"
else
    serdev="file,id=ser0,path=$log"
fi
: >"$log"
sm() { printf '%s' "${1//,/,,}"; }
qemu=(qemu-system-x86_64 -accel tcg -m "$mem" -smp 1 -nodefaults -nographic -no-reboot
    -monitor none -chardev "$serdev" -serial chardev:ser0
    -kernel "$kdir/vmlinuz" -initrd "$initrd"
    -append "console=ttyS0 quiet loglevel=4 panic=-1 no_timer_check $append"
    -smbios "type=1,manufacturer=$(sm "$manu"),product=$(sm "$product"),serial=$(sm "$serial")"
    -chardev "socket,id=chrtpm,path=$sock" -tpmdev emulator,id=tpm0,chardev=chrtpm
    -device "tpm-$tpmif,tpmdev=tpm0"
    -netdev "$net" -device virtio-net-pci,netdev=n0,romfile=
    -object rng-random,id=rng0,filename=/dev/urandom -device virtio-rng-pci,rng=rng0
    ${drive[@]+"${drive[@]}"})
printf '%q ' "${qemu[@]}" >"$work/qemu.cmd"
echo >>"$work/qemu.cmd"

t0=$(date +%s%N)
ms() { echo $((($(date +%s%N) - t0) / 1000000)); }
if [ "$console" = 1 ]; then
    "${qemu[@]}" </dev/null 2>"$work/qemu.err" &
else
    "${qemu[@]}" </dev/null >"$work/qemu.out" 2>"$work/qemu.err" &
fi
qpid=$!
echo "$qpid" >"$work/qemu.pid"
echo "qemu $qpid" >>"$work/procs"

timed_out=0 init_ms=
deadline=$((timeout * 1000))
# (kill -0, not `ours`: right after the fork the child may not have exec'd yet)
while kill -0 "$qpid" 2>/dev/null; do
    if [ -z "$init_ms" ] && grep -q 'LJSIM: init-start' "$log" 2>/dev/null; then init_ms=$(ms); fi
    if [ "$(ms)" -ge "$deadline" ]; then timed_out=1; break; fi
    sleep 0.05
done
exit_ms=$(ms)
if [ $timed_out = 1 ]; then
    stop "$qpid" qemu-system-x86_64
    qrc=124
else
    wait "$qpid"
    qrc=$?
fi
[ -z "$init_ms" ] && grep -q 'LJSIM: init-start' "$log" && init_ms=$exit_ms

clean=0
cleanup || clean=1
trap - EXIT

sec() { [ -n "$1" ] && printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
g_init=$(tr -d '\r' <"$log" | sed -n 's/.*LJSIM: init-start uptime=\([0-9.]*\).*/\1/p' | awk 'NR == 1')
g_off=$(tr -d '\r' <"$log" | sed -n 's/.*LJSIM: poweroff uptime=\([0-9.]*\).*/\1/p' | awk 'NR == 1')
grc=$(tr -d '\r' <"$log" | sed -n 's/.*LJSIM: cmd-exit rc=\([0-9]*\).*/\1/p' | awk 'NR == 1')
{
    echo "host_to_init_s=$(sec "$init_ms")"
    echo "host_to_qemu_exit_s=$(sec "$exit_ms")"
    echo "guest_uptime_init_s=$g_init"
    echo "guest_uptime_poweroff_s=$g_off"
    echo "initrd_bytes=$(stat -c %s "$initrd")"
    echo "qemu_rc=$qrc"
    echo "tpm_if=$tpmif"
} >"$work/timings"

if [ $clean != 0 ]; then
    rc=125
    echo "boot: processes were left behind" >&2
elif [ $timed_out = 1 ]; then
    rc=124
    echo "boot: timed out after ${timeout}s; last console lines:" >&2
    tail -n 15 "$log" | tr -d '\r' | sed 's/^/boot:   /' >&2
elif [ -z "$grc" ]; then
    rc=126
    echo "boot: the guest never reported its command's end (qemu rc=$qrc: $(head -c 300 "$work/qemu.err")); last console lines:" >&2
    tail -n 15 "$log" | tr -d '\r' | sed 's/^/boot:   /' >&2
else
    rc=$grc
fi
echo "boot: rc=$rc qemu_rc=$qrc init_seen=$(sec "$init_ms")s qemu_exit=$(sec "$exit_ms")s guest_init=${g_init}s guest_poweroff=${g_off}s" >&2
exit $rc
