#!/usr/bin/env bash
# tests/integration/test_qemu_join.sh — the simulated Link device joins.
#
# A whole machine: Debian's cloud kernel in QEMU (TCG) with a swtpm TPM, an
# SMBIOS identity and a persistent state disk; its only way out is guestfwd
# 10.0.2.100:443 -> entra-sim (demo tenant) on the host's loopback.  The
# guest runs `linkjoin run --ui tty` on its serial console with the real
# config (hw-sim/qemu/linkjoin-sim.conf: tcti device:/dev/tpmrm0, identity
# from DMI); hw-sim/qemu/join.sh approves the device code through the
# simulator's control API when it shows on the console.  Then the guest
# prints `linkjoin status` and powers off.  The boots are costly (tens of
# seconds under TCG on a loaded host), so one boot's artifacts ($SH) are
# inspected by several cases.  Every boot has a hard timeout (boot.sh
# --timeout), so a stuck guest fails a case and never hangs CI.  Without
# qemu, swtpm or the kernel package every case is skipped, visibly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_join.sh"
Q=$LJ_TOP/hw-sim/qemu
SH=$LJ_SCRIPT_TMP/shared
KDIR=$LJ_TOP/build/qemu/kernel
BOOT_TIMEOUT=${LJ_QEMU_TIMEOUT:-400}
SERIAL=LJSIM-$RANDOM$RANDOM
UPN=alice@contoso.example
mkdir -p "$SH"

# Skip every case with the setup case's reason; load the simulator's ports.
need_device() {
    [ -f "$SH/skip" ] && skip "$(cat "$SH/skip")"
    [ -f "$SH/sim.env" ] && [ -f "$SH/initrd.gz" ] || fail "no simulator or initramfs (see the setup case)"
    . "$SH/sim.env"
}
need_boot1() {
    need_device
    [ -f "$SH/w1/join.env" ] || fail "the first boot did not run"
}
slog() { tr -d '\r' <"${1:-$SH/w1/serial.log}"; }
# status_json [LOG]: the guest's `linkjoin status --json` line.
status_json() { slog "${1:-}" | sed -n 's/^LJSIM: status-json //p' | awk 'NR == 1'; }
tpm_hash() { cat "$1"/tpm2-* 2>/dev/null | sha256sum | cut -d' ' -f1; }
# boot WORKDIR TPMDIR DISK [join.sh options]: one device boot against the sim.
boot() {
    local w=$1 tpm=$2 disk=$3
    shift 3
    "$Q/join.sh" --work "$w" --sim-port "$SIM_PORT" --sim-ctl "$SIM_CTL" --upn "$UPN" "$@" -- \
        --kernel "$KDIR" --initrd "$SH/initrd.gz" --timeout "$BOOT_TIMEOUT" \
        --serial "$SERIAL" --tpm-state "$tpm" --disk "$disk" 2>"$w.err" &
    local p=$!
    track_pid "$p"
    wait "$p"
    BOOT_RC=$?
    cat "$w.err"
}
# no_process_left WORKDIR: nothing boot.sh started is running.
no_process_left() {
    local w=$1 p
    grep -q '^qemu [0-9]' "$w/procs" && grep -q '^swtpm [0-9]' "$w/procs" || fail "boot.sh recorded no pids"
    for p in $(cut -d' ' -f2 "$w/procs") $(cut -d' ' -f1 "$w/fwd.pids"); do
        if [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' <"/proc/$p/cmdline" | grep -qE "qemu-system|swtpm|nc 127.0.0.1"; then
            fail "process $p still running: $(tr '\0' ' ' <"/proc/$p/cmdline")"
        fi
    done
    assert_no_file "$w/swtpm.sock"
}

t_setup() {
    local rc man so
    for t in qemu-system-x86_64 swtpm; do
        command -v $t >/dev/null || { echo "$t not installed" >"$SH/skip"; skip "$(cat "$SH/skip")"; }
    done
    "$Q/fetch-kernel.sh" "$KDIR" >"$SH/kernel.env" 2>"$CASE/fetch.err"
    rc=$?
    [ $rc = 77 ] && { cp "$CASE/fetch.err" "$SH/skip"; skip "$(cat "$SH/skip")"; }
    [ $rc = 0 ] || fail "fetch-kernel.sh exit $rc: $(cat "$CASE/fetch.err")"
    need_sim
    # The simulator lives for the whole script (its pid in $SH/pids, which the
    # script's exit trap kills); the cases share it through $SH/sim.env.
    CASE=$SH sim_start "$LJ_TENANT_DEMO" "$SH/sim-state"
    echo "SIM_PORT=$SIM_PORT SIM_CTL=$SIM_CTL SIM_CA=$SIM_CA SIM_PID=$SIM_PID" >"$SH/sim.env"
    sim_ctl PUT /control/login '{"device_code_interval":1}' >/dev/null || fail "cannot set the poll interval"
    # The device's config: valid for the agent, and no identity overrides.
    assert_rc 0 lj config --check --config "$Q/linkjoin-sim.conf"
    ! grep -qE '^[[:space:]]*(manufacturer|model|serial|display_name)[[:space:]]*=' "$Q/linkjoin-sim.conf" ||
        fail "linkjoin-sim.conf overrides the identity"
    "$Q/mkinitramfs.sh" --kernel "$KDIR" --out "$SH/initrd.gz" --bin "$LINKJOIN" --strip \
        --ca "$SIM_CA" --config "$Q/linkjoin-sim.conf" >"$CASE/mk.out" 2>&1 ||
        { rm -f "$SH/initrd.gz"; fail "mkinitramfs.sh: $(cat "$CASE/mk.out")"; }
    man=$(cat "$SH/initrd.gz.manifest")
    for p in /init /usr/bin/busybox /usr/bin/linkjoin /etc/sim/cmd.sh /etc/linkjoin/sim-ca.pem \
        /etc/linkjoin/linkjoin.conf; do
        grep -qxF "$p" <<<"$man" || fail "initramfs lacks $p"
    done
    # The agent's tpm2-tss is static, its TCTIs compiled in (tools/deps-tss.sh):
    # no libtss2-* to dlopen() in the device.
    ! grep -q libtss2 <<<"$man" || fail "initramfs has $(grep libtss2 <<<"$man" | head -3)"
    ldd "$LINKJOIN" | awk '$2 == "=>" {print $1}' >"$CASE/sonames"
    while read -r so; do
        grep -q "/$so$" <<<"$man" || fail "initramfs lacks $so (needed by linkjoin)"
    done <"$CASE/sonames"
    echo "# initramfs with the agent: $(sed -n 's/^SIZE=//p' "$CASE/mk.out") bytes gz, $(sed -n 's/^UNCOMPRESSED=//p' "$CASE/mk.out") unpacked" >>"$SH/report"
}

t_first_boot() {
    need_device
    # A manufactured, never used TPM: the "before" of the state comparison.
    mkdir -p "$SH/tpm"
    swtpm_setup --tpm2 --tpmstate "$SH/tpm" --overwrite >"$CASE/setup.log" 2>&1 ||
        fail "swtpm_setup: $(tail -n 5 "$CASE/setup.log")"
    tpm_hash "$SH/tpm" >"$SH/tpm.before"
    assert_eq "$(sim_devices)" 0 "device objects before the boot"
    boot "$SH/w1" "$SH/tpm" "$SH/state.img"
    echo "$BOOT_RC" >"$SH/w1/rc"
    sim_ctl GET /control/devices >"$SH/devices.json" || fail "cannot list devices"
    cat "$SH/w1/join.env"
    echo "# first boot: $(grep -E '_s=' "$SH/w1/timings" | tr '\n' ' ')" >>"$SH/report"
    assert_eq "$(sed -n 's/^approved=//p' "$SH/w1/join.env")" yes "device code approved from the host"
    assert_eq "$BOOT_RC" 0 "linkjoin run's exit status (via boot.sh)"
}

t_result_on_serial() {
    need_boot1
    local code did
    code=$(sed -n 's/^user_code=//p' "$SH/w1/join.env")
    slog | grep -qF "enter the code $code" || fail "no device code prompt on the console"
    slog | grep -qx 'Done: this device is joined to Contoso.' || fail "no join result on the console: $(slog | tail -20)"
    slog | grep -qE "^  Signed in as: +$UPN$" || fail "no 'Signed in as' line"
    slog | grep -qx 'LJSIM: run-exit rc=0' || fail "run did not exit 0"
    did=$(slog | sed -n 's/^  Device ID: *//p' | awk 'NR == 1')
    assert_eq "$(jq -r .device_id <<<"$(status_json)")" "$did" "device id in status = on the result screen"
    # The first thing on the console is the hello: the product as SMBIOS names it, and its serial.
    slog | grep -qxF "Setting up your Windows 365 Link (serial number $SERIAL)" || fail "hello without the DMI identity"
}

t_one_device_with_serial() {
    need_boot1
    local did
    assert_eq "$(jq length "$SH/devices.json")" 1 "device objects in the simulator"
    # display_name is unset in the config: the flow names the device after
    # the serial it read from /sys/class/dmi/id/product_serial.
    assert_eq "$(jq -r '.[0].display_name' "$SH/devices.json")" "LINK-$SERIAL" "display name"
    assert_eq "$(jq -r '.[0].owner_upn' "$SH/devices.json")" "$UPN" "owner"
    did=$(jq -r .device_id <<<"$(status_json)")
    assert_eq "$(jq -r '.[0].device_id' "$SH/devices.json")" "$did" "the guest's device id"
    assert_eq "$(jq -r '.[0].thumbprint' "$SH/devices.json")" "$(jq -r .cert_thumbprint <<<"$(status_json)")" \
        "certificate thumbprint (sim vs guest)"
}

t_key_in_vm_tpm() {
    need_boot1
    local s
    s=$(status_json)
    [ -n "$s" ] || fail "no status-json line on the console"
    assert_eq "$(jq -r .joined <<<"$s")" true "status joined"
    assert_eq "$(jq -r .key_provider <<<"$s")" tpm "key provider"
    assert_eq "$(jq -r .tpm_protected <<<"$s")" true "TpmProtected"
    assert_eq "$(jq -r .cert_valid <<<"$s")" true "certificate valid by the guest's clock"
    slog | grep -qE '^ +TpmProtected : YES$' || fail "text status lacks 'TpmProtected : YES'"
    slog | grep -qx 'LJSIM: status-exit rc=0' || fail "status did not exit 0"
    slog | grep -q 'mod=tpm event=tpm_opened tcti="device:/dev/tpmrm0"' || fail "agent did not open /dev/tpmrm0"
    assert_ne "$(tpm_hash "$SH/tpm")" "$(cat "$SH/tpm.before")" "swtpm state after the join"
}

t_clock_plausible() {
    need_boot1
    local t g h
    ! slog | grep -q 'event=clock_implausible' || fail "the flow found the guest clock implausible"
    slog | grep -q 'event=probe_ok' || fail "preflight (clock check first) did not pass"
    # The guest's RTC follows the host's: its log time is the host's date.
    t=$(slog | grep -oE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}' | awk 'NR == 1')
    g=$(date -u -d "${t/T/ } UTC" +%s) || fail "no timestamp in the guest log"
    h=$(stat -c %Y "$SH/w1/serial.log")
    [ $((h - g)) -lt 86400 ] && [ $((g - h)) -lt 86400 ] || fail "guest clock $t far from the host's"
}

t_nothing_left() {
    need_boot1
    no_process_left "$SH/w1"
    [ -s "$SH/w1/fwd.pids" ] || fail "no forwarder ran (fwd.pids empty)"
    # The one way out: restricted user networking with a single guestfwd.
    grep -q 'restrict=on' "$SH/w1/qemu.cmd" || fail "QEMU without restrict=on"
    assert_eq "$(grep -o 'guestfwd=' "$SH/w1/qemu.cmd" | wc -l)" 1 "guestfwd rules"
    grep -qF "guestfwd=tcp:10.0.2.100:443-cmd:" "$SH/w1/qemu.cmd" || fail "no guestfwd for 10.0.2.100:443"
}

t_second_boot_already_joined() {
    need_boot1
    [ "$(cat "$SH/w1/rc")" = 0 ] || fail "needs a successful first boot"
    local before did
    before=$(sim_requests)
    did=$(jq -r .device_id <<<"$(status_json)")
    boot "$SH/w2" "$SH/tpm" "$SH/state.img"
    echo "# second boot: $(grep -E '_s=' "$SH/w2/timings" | tr '\n' ' ')" >>"$SH/report"
    assert_eq "$BOOT_RC" 10 "run on a joined device (already joined)"
    slog "$SH/w2/serial.log" | grep -qx 'This device is already joined; nothing to do.' ||
        fail "no 'already joined' on the console"
    assert_eq "$(sed -n 's/^user_code=//p' "$SH/w2/join.env")" "" "a device code on a joined device"
    assert_eq "$(jq -r .device_id <<<"$(status_json "$SH/w2/serial.log")")" "$did" "device id after reboot"
    assert_eq "$(jq -r .tpm_protected <<<"$(status_json "$SH/w2/serial.log")")" true "TpmProtected after reboot"
    assert_eq "$(sim_devices)" 1 "device objects after the second boot"
    assert_eq "$(sim_requests)" "$before" "requests made by the second boot"
    no_process_left "$SH/w2"
}

# A fresh device whose user declines the code on the other device.
t_declined() {
    need_device
    local before s
    before=$(sim_devices)
    boot "$CASE/w" "$CASE/tpm" "$CASE/state.img" --decline
    assert_eq "$(sed -n 's/^approved=//p' "$CASE/w/join.env")" declined "host declined the code"
    assert_eq "$BOOT_RC" 6 "run's exit status (sign-in)"
    slog "$CASE/w/serial.log" | grep -q '^Setup could not finish: The sign-in was declined' ||
        fail "no failure screen: $(slog "$CASE/w/serial.log" | tail -20)"
    s=$(status_json "$CASE/w/serial.log")
    [[ $(jq -r .last_error.code <<<"$s") =~ ^AADSTS[0-9]+$ ]] || fail "status last_error.code: $s"
    slog "$CASE/w/serial.log" | grep -qx "  Error code:     $(jq -r .last_error.code <<<"$s")" ||
        fail "no error code line: $(slog "$CASE/w/serial.log" | grep 'Error code')"
    assert_eq "$(jq -r .joined <<<"$s")" false "status joined"
    assert_eq "$(jq -r .last_error.reason <<<"$s")" signin_declined "status last_error"
    slog "$CASE/w/serial.log" | grep -qx 'LJSIM: status-exit rc=12' || fail "status did not exit 12"
    assert_eq "$(sim_devices)" "$before" "device objects"
    no_process_left "$CASE/w"
}

tcase qemu_join_setup t_setup
tcase qemu_join_first_boot_joins t_first_boot
tcase qemu_join_result_on_serial t_result_on_serial
tcase qemu_join_one_device_named_after_smbios_serial t_one_device_with_serial
tcase qemu_join_key_in_vm_tpm t_key_in_vm_tpm
tcase qemu_join_guest_clock_plausible t_clock_plausible
tcase qemu_join_nothing_left_restricted_net t_nothing_left
tcase qemu_join_second_boot_already_joined t_second_boot_already_joined
tcase qemu_join_declined_code t_declined
[ -f "$SH/report" ] && cat "$SH/report"
exit 0
