#!/bin/sh
# Guest-side checks of the simulated Link device (used as /etc/sim/cmd.sh by
# `make sim-device` and tests/integration/test_qemu_device.sh).  Each check
# prints one "LJSIM: check NAME=VALUE" line; the host decides pass or fail.
#
# Inputs (kernel command line lj.* -> LJ_*):
#   LJ_PROBE_URL    https URL to fetch through the guestfwd (body is printed)
#   LJ_CONNECT_TO   curl --connect-to mapping, e.g.
#                   login.microsoftonline.com:443:10.0.2.100:443
#   LJ_BLOCKED      comma-separated host:port list that must NOT be reachable
#   LJ_CA           CA file for the probe (default /etc/linkjoin/sim-ca.pem)
m() { echo "LJSIM: check $*"; }

if [ -c /dev/tpmrm0 ]; then m tpm_node=ok; else m tpm_node=missing; fi
for f in sys_vendor product_name product_serial; do
    m "dmi_$f=$(cat /sys/class/dmi/id/$f 2>/dev/null | tr ' ' '_')"
done

# The TPM through tpm2-tools: Debian's tctildr -> dlopen(libtss2-tcti-device)
# -> /dev/tpmrm0 (build/linkjoin has the device TCTI compiled in, the same
# tpm2-tss code without the dlopen).
export TPM2TOOLS_TCTI=device:/dev/tpmrm0 TSS2_LOG=all+none
if command -v tpm2_getrandom >/dev/null 2>&1; then
    if r=$(tpm2_getrandom --hex 8 2>/tmp/tpm.err); then m "tpm_getrandom=ok:$r"
    else m "tpm_getrandom=fail:$(head -c 200 /tmp/tpm.err | tr '\n ' '__')"; fi
    # An NV index persists in the swtpm state: defined on the first boot,
    # found again on later boots with the same TPM state.
    idx=0x01500016
    if tpm2_nvreadpublic "$idx" >/dev/null 2>&1; then
        m "tpm_nv=present:$(tpm2_nvread "$idx" -C o -s 8 2>/dev/null)"
    elif tpm2_nvdefine "$idx" -C o -s 8 -a 'ownerread|ownerwrite' >/dev/null 2>/tmp/tpm.err &&
        printf 'ljboot01' | tpm2_nvwrite "$idx" -C o -i - 2>>/tmp/tpm.err; then
        m tpm_nv=defined
    else
        m "tpm_nv=fail:$(head -c 200 /tmp/tpm.err | tr '\n ' '__')"
    fi
else
    m tpm_getrandom=no-tpm2-tools
fi

if [ -n "${LJ_PROBE_URL:-}" ]; then
    if body=$(curl -sS --max-time 30 --cacert "${LJ_CA:-/etc/linkjoin/sim-ca.pem}" \
        ${LJ_CONNECT_TO:+--connect-to "$LJ_CONNECT_TO"} "$LJ_PROBE_URL" 2>/tmp/curl.err); then
        m "fwd_https=$(echo "$body" | head -n1 | tr ' ' '_')"
    else
        m "fwd_https=fail:$(head -c 200 /tmp/curl.err | tr '\n ' '__')"
    fi
fi
# Each must fail to connect (curl 7 = refused, 28 = timed out): QEMU's
# restrict=on drops everything but the guestfwd.  Any other result means a
# connection was made.
for hp in $(echo "${LJ_BLOCKED:-}" | tr ',' ' '); do
    curl -sS -o /dev/null --connect-timeout 5 --max-time 10 --cacert "${LJ_CA:-/etc/linkjoin/sim-ca.pem}" \
        --connect-to "::$hp" "${LJ_PROBE_URL:-https://$hp/}" 2>/dev/null
    rc=$?
    case $rc in
    7 | 28) m "blocked_$hp=yes" ;;
    *) m "blocked_$hp=no:rc$rc" ;;
    esac
done

if [ -n "${LJ_STATE_DIR:-}" ] && grep -q " $LJ_STATE_DIR ext4 " /proc/mounts; then
    n=$(cat "$LJ_STATE_DIR/sim-boots" 2>/dev/null || echo 0)
    n=$((n + 1))
    echo "$n" >"$LJ_STATE_DIR/sim-boots" && sync
    m "state_boots=$n"
else
    m state_boots=no-disk
fi
exit 0
