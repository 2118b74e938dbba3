#!/usr/bin/env bash
# tests/integration/test_qemu_device.sh — the simulated Link device.
#
# Boots Debian's cloud kernel in QEMU (TCG) with a fresh swtpm, an SMBIOS
# identity, restrict=on networking whose only way out is a guestfwd to an
# HTTPS server on the host's loopback, and a persistent state disk; the guest
# runs hw-sim/qemu/checks.sh, which prints "LJSIM: check NAME=VALUE" lines on
# the serial console.  Each case below asserts one thing about those boots.
# Boots are costly (seconds each under TCG), so the first boot's artifacts are
# shared by the cases that inspect it ($SH).  Every boot has a hard timeout
# (boot.sh --timeout), so a stuck guest fails the case, never hangs CI.
# Without qemu, swtpm or the kernel package every case is skipped, visibly.
. "$(dirname "$0")/lib.sh"
Q=$LJ_TOP/hw-sim/qemu
SH=$LJ_SCRIPT_TMP/shared
KDIR=$LJ_TOP/build/qemu/kernel
BOOT_TIMEOUT=${LJ_QEMU_TIMEOUT:-240}
SERIAL=LJSIM-$RANDOM$RANDOM
mkdir -p "$SH"

# Skip every case with the same reason when the machine cannot boot a device.
need_device() {
    [ -f "$SH/skip" ] && skip "$(cat "$SH/skip")"
    [ -f "$SH/initrd.gz" ] || fail "initramfs was not built (see the first case)"
}
# check NAME [LOG]: the value of "LJSIM: check NAME=VALUE" in a serial log.
check() {
    tr -d '\r' <"${2:-$SH/w1/serial.log}" | sed -n "s/^LJSIM: check $1=//p" | awk 'NR == 1'
}
# tls_server DIR PORT NAME: an `openssl s_server -WWW` on 127.0.0.1:PORT
# serving DIR (its log in DIR/server-NAME.log).
tls_server() {
    (cd "$1" && exec openssl s_server -accept "127.0.0.1:$2" -cert "$SH/srv/cert.pem" \
        -key "$SH/srv/key.pem" -WWW </dev/null >"$1/server-$3.log" 2>&1) &
    track_pid $!
    for _ in $(seq 100); do _port_busy "$2" && return 0; sleep 0.05; done
    fail "s_server on $2 did not start: $(cat "$1/server-$3.log")"
}
tpm_hash() { cat "$1"/tpm2-* 2>/dev/null | sha256sum | cut -d' ' -f1; }

t_build_initramfs() {
    command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 not installed" >"$SH/skip"; skip "$(cat "$SH/skip")"; }
    command -v swtpm >/dev/null || { echo "swtpm not installed" >"$SH/skip"; skip "$(cat "$SH/skip")"; }
    "$Q/fetch-kernel.sh" "$KDIR" >"$SH/kernel.env" 2>"$CASE/fetch.err"
    rc=$?
    if [ $rc = 77 ]; then
        cp "$CASE/fetch.err" "$SH/skip"
        skip "$(cat "$SH/skip")"
    fi
    [ $rc = 0 ] || fail "fetch-kernel.sh exit $rc: $(cat "$CASE/fetch.err")"
    # The simulated cloud's name and CA: a self-signed certificate for
    # login.microsoftonline.com that the guest trusts through --cacert.
    mkdir -p "$SH/srv"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -keyout "$SH/srv/key.pem" -out "$SH/srv/cert.pem" -subj /CN=login.microsoftonline.com \
        -addext subjectAltName=DNS:login.microsoftonline.com 2>"$CASE/openssl.err" ||
        fail "openssl req: $(cat "$CASE/openssl.err")"
    printf '#!/bin/sh\necho "LJSIM: hang"\nwhile :; do sleep 1; done\n' >"$CASE/hang.sh"
    printf '#!/bin/sh\necho "LJSIM: failing"\nexit 7\n' >"$CASE/fail.sh"
    bins=(--bin /usr/bin/tpm2 --bin /usr/bin/curl)
    [ -x "$LINKJOIN" ] && bins+=(--bin "$LINKJOIN")
    "$Q/mkinitramfs.sh" --kernel "$KDIR" --out "$SH/initrd.gz" "${bins[@]}" \
        --cmd "$Q/checks.sh" --ca "$SH/srv/cert.pem" \
        --file "$CASE/hang.sh:/etc/sim/hang.sh" --file "$CASE/fail.sh:/etc/sim/fail.sh" \
        >"$CASE/mk.out" 2>&1 || { rm -f "$SH/initrd.gz"; fail "mkinitramfs.sh: $(cat "$CASE/mk.out")"; }
    man=$(cat "$SH/initrd.gz.manifest")
    for p in /init /usr/bin/busybox /etc/sim/cmd.sh /etc/sim/modules.order /etc/linkjoin/sim-ca.pem \
        /usr/bin/tpm2 /usr/bin/tpm2_getrandom /usr/lib64/ld-linux-x86-64.so.2 \
        /usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0 /usr/lib/x86_64-linux-gnu/libtss2-tctildr.so.0; do
        grep -qxF "$p" <<<"$man" || fail "initramfs lacks $p"
    done
    for m in virtio_net virtio_blk virtio_pci virtio_ring; do
        grep -q "/$m\.ko$" <<<"$man" || fail "initramfs lacks $m.ko"
    done
    if [ -x "$LINKJOIN" ]; then
        grep -qxF /usr/bin/linkjoin <<<"$man" || fail "initramfs lacks linkjoin"
        ldd "$LINKJOIN" | awk '$2 == "=>" {print $1}' | while read -r so; do
            grep -q "/$so$" <<<"$man" || { echo "initramfs lacks $so (needed by linkjoin)"; exit 1; }
        done || fail "linkjoin's libraries missing"
    fi
    echo "# initramfs $(sed -n 's/^SIZE=//p' "$CASE/mk.out") bytes gz, $(sed -n 's/^UNCOMPRESSED=//p' "$CASE/mk.out") bytes unpacked; $(grep PKG= "$SH/kernel.env")" >>"$SH/report"
}

t_first_boot() {
    need_device
    mkdir -p "$SH/w1" "$SH/www"
    echo "nonce-$RANDOM$RANDOM" >"$SH/www/nonce.txt"
    mkdir -p "$SH/www2" && echo "must-not-be-read" >"$SH/www2/nonce.txt"
    p=$(free_port) || fail "no free port"
    tls_server "$SH/www" "$p" fwd
    q=$(free_port) || fail "no free port"
    tls_server "$SH/www2" "$q" other
    echo "$p $q" >"$SH/ports"
    # A manufactured but unused TPM, so that "the guest changed its state" has
    # a before to compare with.
    mkdir -p "$SH/tpm"
    swtpm_setup --tpm2 --tpmstate "$SH/tpm" --overwrite >"$CASE/setup.log" 2>&1 ||
        fail "swtpm_setup: $(tail -n 5 "$CASE/setup.log")"
    tpm_hash "$SH/tpm" >"$SH/tpm.before"
    "$Q/boot.sh" --work "$SH/w1" --kernel "$KDIR" --initrd "$SH/initrd.gz" --timeout "$BOOT_TIMEOUT" \
        --serial "$SERIAL" --tpm-state "$SH/tpm" --disk "$SH/state.img" \
        --fwd "10.0.2.100:443=$p" \
        --append "lj.probe_url=https://login.microsoftonline.com/nonce.txt lj.connect_to=login.microsoftonline.com:443:10.0.2.100:443 lj.blocked=10.0.2.2:$q,10.0.2.2:$p,10.0.2.100:80" \
        2>"$SH/w1/boot.err" &
    bpid=$!
    track_pid "$bpid"
    # In the background, the way the join test will run it: the host reads the
    # console while the guest runs (there: to find the device code's user code).
    serial_wait "$SH/w1/serial.log" '^LJSIM: cmd-start' "$BOOT_TIMEOUT" >/dev/null ||
        echo "# no cmd-start marker seen while booting"
    wait "$bpid"
    rc=$?
    echo "$rc" >"$SH/w1/rc"
    cat "$SH/w1/boot.err"
    assert_eq "$rc" 0 "boot.sh exit status"
    grep -q 'LJSIM: poweroff' "$SH/w1/serial.log" || fail "no poweroff marker"
    echo "# first boot: $(tr '\n' ' ' <"$SH/w1/timings")" >>"$SH/report"
}

t_tpm_node() {
    need_device
    assert_eq "$(check tpm_node)" ok "/dev/tpmrm0 in the guest"
    grep -q 'LJSIM: tpm dev=/dev/tpmrm0' "$SH/w1/serial.log" || fail "init saw no TPM"
}

t_dmi_serial() {
    need_device
    assert_eq "$(check dmi_product_serial)" "$SERIAL" "DMI product_serial"
    assert_eq "$(check dmi_product_name)" "Windows_365_Link" "DMI product_name"
    assert_eq "$(check dmi_sys_vendor)" "Microsoft_Corporation" "DMI sys_vendor"
}

t_tpm_command() {
    need_device
    v=$(check tpm_getrandom)
    [[ $v =~ ^ok:[0-9a-f]{16}$ ]] || fail "tpm2_getrandom over device:/dev/tpmrm0: $v"
    assert_eq "$(check tpm_nv)" defined "NV index defined on the first boot"
}

t_guestfwd_https() {
    need_device
    assert_eq "$(check fwd_https)" "$(cat "$SH/www/nonce.txt")" "body fetched through the guestfwd"
    grep -q '^FILE:nonce.txt' "$SH/www/server-fwd.log" || fail "host server saw no request"
}

t_restrict_blocks() {
    need_device
    read -r p q <"$SH/ports"
    assert_eq "$(check "blocked_10.0.2.2:$q")" yes "other loopback port via 10.0.2.2"
    assert_eq "$(check "blocked_10.0.2.2:$p")" yes "the service port itself via 10.0.2.2"
    assert_eq "$(check "blocked_10.0.2.100:80")" yes "unforwarded port of the forward address"
    ! grep -q '^FILE:' "$SH/www2/server-other.log" || fail "the other loopback server was reached"
}

t_tpm_state_changed() {
    need_device
    [ -s "$SH/tpm.before" ] || fail "no pre-boot TPM state hash"
    assert_ne "$(tpm_hash "$SH/tpm")" "$(cat "$SH/tpm.before")" "swtpm state after the guest's TPM use"
}

t_nothing_left() {
    need_device
    w=$SH/w1
    grep -q '^qemu [0-9]' "$w/procs" && grep -q '^swtpm [0-9]' "$w/procs" || fail "boot.sh recorded no pids"
    for p in $(cut -d' ' -f2 "$w/procs") $(cut -d' ' -f1 "$w/fwd.pids"); do
        if [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' <"/proc/$p/cmdline" | grep -qE "qemu-system|swtpm|nc 127.0.0.1"; then
            fail "process $p still running: $(tr '\0' ' ' <"/proc/$p/cmdline")"
        fi
    done
    [ -s "$w/fwd.pids" ] || fail "no forwarder ran (fwd.pids empty)"
    assert_no_file "$w/swtpm.sock"
}

t_second_boot() {
    need_device
    [ "$(cat "$SH/w1/rc" 2>/dev/null)" = 0 ] || fail "needs a successful first boot"
    # Same TPM state behind the other interface (CRB, as firmware TPMs use).
    "$Q/boot.sh" --work "$SH/w2" --kernel "$KDIR" --initrd "$SH/initrd.gz" --timeout "$BOOT_TIMEOUT" \
        --serial "$SERIAL" --tpm-state "$SH/tpm" --tpm-if crb --disk "$SH/state.img" 2>"$CASE/boot.err"
    rc=$?
    cat "$CASE/boot.err"
    assert_eq "$rc" 0 "boot.sh exit status"
    assert_eq "$(check state_boots "$SH/w2/serial.log")" 2 "boot counter on the state disk"
    assert_eq "$(check tpm_nv "$SH/w2/serial.log")" present:ljboot01 "NV index from the first boot"
    echo "# second boot: $(tr '\n' ' ' <"$SH/w2/timings")" >>"$SH/report"
}

t_guest_rc() {
    need_device
    "$Q/boot.sh" --work "$CASE/w" --kernel "$KDIR" --initrd "$SH/initrd.gz" --timeout "$BOOT_TIMEOUT" \
        --append lj.cmd=/etc/sim/fail.sh 2>"$CASE/boot.err"
    rc=$?
    cat "$CASE/boot.err"
    assert_eq "$rc" 7 "boot.sh passes the guest command's exit status"
    grep -q 'LJSIM: cmd-exit rc=7' "$CASE/w/serial.log" || fail "no cmd-exit rc=7 marker"
}

t_timeout() {
    need_device
    "$Q/boot.sh" --work "$CASE/w" --kernel "$KDIR" --initrd "$SH/initrd.gz" --timeout 20 \
        --append lj.cmd=/etc/sim/hang.sh 2>"$CASE/boot.err"
    rc=$?
    cat "$CASE/boot.err"
    assert_eq "$rc" 124 "boot.sh on a guest that never powers off"
    grep -q '^swtpm [0-9]' "$CASE/w/procs" || fail "boot.sh recorded no swtpm pid"
    for p in $(cut -d' ' -f2 "$CASE/w/procs"); do
        if [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' <"/proc/$p/cmdline" | grep -qE "qemu-system|swtpm"; then
            fail "process $p still running after the timeout"
        fi
    done
}

t_killed_boot_stops_everything() {
    need_device
    "$Q/boot.sh" --work "$CASE/w" --kernel "$KDIR" --initrd "$SH/initrd.gz" --timeout "$BOOT_TIMEOUT" \
        --append lj.cmd=/etc/sim/hang.sh 2>"$CASE/boot.err" &
    bpid=$!
    track_pid "$bpid"
    serial_wait "$CASE/w/serial.log" '^LJSIM: hang' "$BOOT_TIMEOUT" >/dev/null || fail "guest never started hang.sh"
    kill -TERM "$bpid"
    wait "$bpid"
    rc=$?
    cat "$CASE/boot.err"
    assert_eq "$rc" 125 "boot.sh stopped by SIGTERM"
    grep -q '^qemu [0-9]' "$CASE/w/procs" || fail "boot.sh recorded no qemu pid"
    for p in $(cut -d' ' -f2 "$CASE/w/procs"); do
        if [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' <"/proc/$p/cmdline" | grep -qE "qemu-system|swtpm"; then
            fail "process $p still running after boot.sh was stopped"
        fi
    done
}

t_kernel_unavailable() {
    command -v apt-get >/dev/null || skip "no apt-get"
    LJ_KERNEL_PKG=linux-image-0.0.0-0-nonexistent-cloud-amd64 \
        assert_rc 77 "$Q/fetch-kernel.sh" "$CASE/k"
    assert_contains "$OUT" "kernel unavailable"
}

tcase qemu_build_initramfs t_build_initramfs
tcase qemu_first_boot_completes t_first_boot
tcase qemu_tpm_node_present t_tpm_node
tcase qemu_dmi_serial_matches_smbios t_dmi_serial
tcase qemu_tpm_command_via_tcti_device t_tpm_command
tcase qemu_guestfwd_reaches_host_https t_guestfwd_https
tcase qemu_restrict_blocks_other_ports t_restrict_blocks
tcase qemu_swtpm_state_changed t_tpm_state_changed
tcase qemu_no_process_left t_nothing_left
tcase qemu_second_boot_sees_state_disk_and_tpm t_second_boot
tcase qemu_guest_exit_status_passed_through t_guest_rc
tcase qemu_boot_timeout_stops_everything t_timeout
tcase qemu_killed_boot_stops_everything t_killed_boot_stops_everything
tcase qemu_kernel_unavailable_exits_77 t_kernel_unavailable
[ -f "$SH/report" ] && cat "$SH/report"
exit 0
