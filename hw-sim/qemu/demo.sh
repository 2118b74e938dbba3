#!/usr/bin/env bash
# hw-sim/qemu/demo.sh — `make sim-device`: a simulated Link device joins.
#
# Fetches the kernel (cached), starts entra-sim (demo tenant) on the host's
# loopback, builds build/qemu/initramfs.cpio.gz with build/linkjoin, its
# libraries, the simulator's CA and hw-sim/qemu/linkjoin-sim.conf, and boots
# the device (QEMU TCG, swtpm TPM, SMBIOS identity, restrict=on network whose
# only way out is guestfwd 10.0.2.100:443 -> entra-sim) with its serial
# console on stdout.  The guest runs `linkjoin run --ui tty`; hw-sim/qemu/
# join.sh approves the device code as alice@contoso.example through the
# simulator's control API the moment it shows on the console; the guest then
# prints `linkjoin status` and powers off.  A summary of checks, timings and
# sizes follows.  Everything it starts is stopped by pid; its files are in a
# temp dir (kept with LJ_KEEP=1).
# Env: LJ_SIM_SERIAL (SMBIOS serial), LJ_QEMU_TIMEOUT (s, default 300),
#      LJ_BUILD (build dir).
# Exit: 0 all checks passed; 77 no kernel/qemu here (reason printed); 1 else.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
q=$top/hw-sim/qemu
build=${LJ_BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
serial=${LJ_SIM_SERIAL:-LJSIM-DEMO-0001}
upn=alice@contoso.example
w=$(mktemp -d /tmp/lj-simdev.XXXXXX)
simpid=
cleanup() {
    if [ -n "$simpid" ]; then
        kill "$simpid" 2>/dev/null
        wait "$simpid" 2>/dev/null
    fi
    [ -n "${LJ_KEEP:-}" ] && echo "sim-device: files kept in $w" || rm -rf "$w"
}
trap cleanup EXIT
trap 'exit 125' INT TERM HUP

for t in qemu-system-x86_64 swtpm; do
    command -v "$t" >/dev/null || { echo "sim-device: SKIPPED: $t not installed" >&2; exit 77; }
done
[ -x "$build/linkjoin" ] && [ -x "$build/entra-sim" ] || { echo "sim-device: build first (make)" >&2; exit 1; }
"$q/fetch-kernel.sh" >"$w/kernel.env"
rc=$?
[ $rc = 77 ] && { echo "sim-device: SKIPPED: no kernel" >&2; exit 77; }
[ $rc = 0 ] || exit 1
kpkg=$(sed -n 's/^PKG=//p' "$w/kernel.env")

"$build/entra-sim" --tenant "$top/hw-sim/tenants/demo.json" --state-dir "$w/sim" \
    >"$w/sim.out" 2>"$w/sim.err" &
simpid=$!
for _ in $(seq 600); do
    grep -q '"event":"ready"' "$w/sim.out" 2>/dev/null && break
    kill -0 "$simpid" 2>/dev/null || break
    sleep 0.05
done
grep -q '"event":"ready"' "$w/sim.out" || { echo "sim-device: entra-sim did not start: $(tail -3 "$w/sim.err")" >&2; exit 1; }
port=$(jq -r .port <"$w/sim.out")
ctl=$(jq -r .control_port <"$w/sim.out")
ca=$(jq -r .ca <"$w/sim.out")
simctl() { curl -sS --max-time 10 -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "http://127.0.0.1:$ctl$2"; }
# Poll every second instead of the tenant's 5 (the figures measure the device).
simctl PUT /control/login '{"device_code_interval":1}' >/dev/null || { echo "sim-device: control API failed" >&2; exit 1; }

"$q/mkinitramfs.sh" --out "$top/build/qemu/initramfs.cpio.gz" --bin "$build/linkjoin" --strip \
    --ca "$ca" --config "$q/linkjoin-sim.conf" >"$w/mk.out" || exit 1

echo "== booting the simulated Link device (serial $serial; entra-sim on 127.0.0.1:$port; console follows) =="
"$q/join.sh" --work "$w/vm" --sim-port "$port" --sim-ctl "$ctl" --upn "$upn" -- \
    --console --serial "$serial" --disk "$w/vm/state.img" --tpm-state "$w/vm/tpm" \
    --timeout "${LJ_QEMU_TIMEOUT:-300}"
rc=$?

log() { tr -d '\r' <"$w/vm/serial.log"; }
jv() { sed -n 's/^user_code=//p; s/^approved=//p' "$w/vm/join.env" 2>/dev/null | tr '\n' ' '; }
status=$(log | sed -n 's/^LJSIM: status-json //p' | awk 'NR == 1')
devs=$(simctl GET /control/devices)
ours=$(jq --arg s "$serial" '[.[] | select(.display_name | contains($s))] | length' <<<"$devs" 2>/dev/null)
bad=0
row() {   # row LABEL OK?
    if [ "$2" = 1 ]; then printf '  PASS  %s\n' "$1"; else printf '  FAIL  %s\n' "$1"; bad=1; fi
}
is() { [ "$1" = "$2" ] && echo 1 || echo 0; }
t() { sed -n "s/^$1=//p" "$w/vm/timings"; }
echo
echo "== sim-device summary =="
row "linkjoin run exit status 0 (got $rc)" "$(is "$rc" 0)"
row "device code shown and approved as $upn (code, approved: $(jv))" "$(is "$(sed -n 's/^approved=//p' "$w/vm/join.env")" yes)"
row "console: \"Done: this device is joined\"" "$(log | grep -q '^Done: this device is joined' && echo 1 || echo 0)"
row "entra-sim: one device named after serial $serial" "$(is "$ours" 1)"
row "guest status: joined, TpmProtected (key in the VM's TPM)" \
    "$([ "$(jq -r '.joined,.tpm_protected' <<<"$status" 2>/dev/null | tr '\n' ' ')" = "true true " ] && echo 1 || echo 0)"
left=0
for p in $(cut -d' ' -f2 "$w/vm/procs") $(cut -d' ' -f1 "$w/vm/fwd.pids"); do
    [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' <"/proc/$p/cmdline" | grep -qE "qemu-system|swtpm|nc 127.0.0.1" && left=1
done
row "QEMU, swtpm and forwarders gone" "$(is "$left" 0)"
echo
echo "  device:       $(jq -r --arg s "$serial" '.[] | select(.display_name | contains($s)) | "\(.display_name)  \(.device_id)  owner \(.owner_upn)"' <<<"$devs" 2>/dev/null)"
echo "  kernel:       $kpkg"
echo "  initramfs:    $(sed -n 's/^SIZE=//p' "$w/mk.out") bytes gz ($(sed -n 's/^UNCOMPRESSED=//p' "$w/mk.out") unpacked), build/qemu/initramfs.cpio.gz"
echo "  QEMU start -> /init:              $(t host_to_init_s) s (guest uptime $(t guest_uptime_init_s) s)"
echo "  QEMU start -> device code shown:  $(t mark_code_s) s"
echo "  QEMU start -> joined:             $(t mark_result_s) s"
echo "  QEMU start -> QEMU exit:          $(t host_to_qemu_exit_s) s"
echo "  host load:    $(cut -d' ' -f1-3 /proc/loadavg)"
[ $bad = 0 ]
