#!/usr/bin/env bash
# hw-sim/qemu/demo.sh — `make sim-device`: boot one simulated Link device.
#
# Fetches the kernel (cached), builds build/qemu/initramfs.cpio.gz with
# build/linkjoin, tpm2-tools and curl, starts an HTTPS server on the host's
# loopback that stands in for the cloud (openssl s_server; entra-sim once the
# agent's `run` exists) and boots the device with its serial console on
# stdout.  The guest runs hw-sim/qemu/checks.sh; a summary of its checks,
# timings and sizes follows.  Everything it starts is stopped by pid; its
# files are in a temp dir (kept with LJ_KEEP=1).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
q=$top/hw-sim/qemu
build=${LJ_BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
serial=${LJ_SIM_SERIAL:-LJSIM-DEMO-0001}
w=$(mktemp -d /tmp/lj-simdev.XXXXXX)
pids=()
cleanup() {
    local p
    for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null; done
    [ -n "${LJ_KEEP:-}" ] && echo "sim-device: files kept in $w" || rm -rf "$w"
}
trap cleanup EXIT
busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
port() {
    local p
    for _ in $(seq 200); do p=$(((RANDOM % 20000) + 20000)); busy "$p" || { echo "$p"; return 0; }; done
    return 1
}

"$q/fetch-kernel.sh" >"$w/kernel.env" || exit $?
kpkg=$(sed -n 's/^PKG=//p' "$w/kernel.env")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$w/key.pem" -out "$w/ca.pem" -subj /CN=login.microsoftonline.com \
    -addext subjectAltName=DNS:login.microsoftonline.com 2>/dev/null || { echo "sim-device: openssl failed" >&2; exit 1; }
bins=(--bin /usr/bin/tpm2 --bin /usr/bin/curl)
[ -x "$build/linkjoin" ] && bins+=(--bin "$build/linkjoin")
"$q/mkinitramfs.sh" --out "$top/build/qemu/initramfs.cpio.gz" "${bins[@]}" --cmd "$q/checks.sh" \
    --ca "$w/ca.pem" --config "$q/linkjoin-sim.conf" >"$w/mk.out" || exit 1

mkdir -p "$w/www" "$w/www2"
echo "hello-from-the-host-$RANDOM" >"$w/www/nonce.txt"
serve() {   # serve DIR PORT
    (cd "$1" && exec openssl s_server -accept "127.0.0.1:$2" -cert "$w/ca.pem" -key "$w/key.pem" \
        -WWW </dev/null >"$1/server.log" 2>&1) &
    pids+=($!)
    for _ in $(seq 100); do busy "$2" && return 0; sleep 0.05; done
    echo "sim-device: server on $2 did not start" >&2
    exit 1
}
p=$(port) && serve "$w/www" "$p"
o=$(port) && serve "$w/www2" "$o"

echo "== booting the simulated Link device (serial $serial; console follows) =="
"$q/boot.sh" --work "$w/vm" --console --serial "$serial" --disk "$w/vm/state.img" \
    --fwd "10.0.2.100:443=$p" --timeout "${LJ_QEMU_TIMEOUT:-240}" \
    --append "lj.probe_url=https://login.microsoftonline.com/nonce.txt lj.connect_to=login.microsoftonline.com:443:10.0.2.100:443 lj.blocked=10.0.2.2:$o,10.0.2.2:$p"
rc=$?

val() { tr -d '\r' <"$w/vm/serial.log" | sed -n "s/^LJSIM: check $1=//p" | awk 'NR == 1'; }
bad=0
row() {   # row LABEL OK?
    if [ "$2" = 1 ]; then printf '  PASS  %s\n' "$1"; else printf '  FAIL  %s\n' "$1"; bad=1; fi
}
is() { [ "$1" = "$2" ] && echo 1 || echo 0; }
echo
echo "== sim-device summary =="
row "boot.sh exit status 0 (got $rc)" "$(is "$rc" 0)"
row "TPM device node /dev/tpmrm0" "$(is "$(val tpm_node)" ok)"
row "DMI product_serial = $serial" "$(is "$(val dmi_product_serial)" "$serial")"
v=$(val tpm_getrandom)
row "tpm2_getrandom via device:/dev/tpmrm0 ($v)" "$([[ $v == ok:* ]] && echo 1 || echo 0)"
row "HTTPS through guestfwd 10.0.2.100:443 -> 127.0.0.1:$p" "$(is "$(val fwd_https)" "$(cat "$w/www/nonce.txt")")"
row "other loopback port 127.0.0.1:$o unreachable (restrict=on)" "$(is "$(val "blocked_10.0.2.2:$o")" yes)"
row "service port unreachable except through the forward" "$(is "$(val "blocked_10.0.2.2:$p")" yes)"
row "persistent state disk mounted" "$(is "$(val state_boots)" 1)"
echo
echo "  kernel:     $kpkg"
echo "  initramfs:  $(sed -n 's/^SIZE=//p' "$w/mk.out") bytes gz ($(sed -n 's/^UNCOMPRESSED=//p' "$w/mk.out") unpacked), build/qemu/initramfs.cpio.gz"
sed 's/^/  timing:     /' "$w/vm/timings" | grep -E '_s='
[ $bad = 0 ]
