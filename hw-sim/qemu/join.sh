#!/usr/bin/env bash
# hw-sim/qemu/join.sh — boot the simulated Link device once while the host
# plays the user: approve the device code the guest shows on its console.
#
# Runs boot.sh in the background with the guest's one way out
# (guestfwd 10.0.2.100:443 -> 127.0.0.1:SIM_PORT, where entra-sim listens),
# follows the serial log, and as soon as the agent's tty UI prints
# "... enter the code XXXXXXXXX" approves that user code as UPN through
# entra-sim's control API (POST /control/devicecode/approve).  Then waits for
# the boot to end (boot.sh's hard --timeout bounds everything) and reports.
# A boot that never shows a code (already joined, early failure) is simply
# waited for.  SIGTERM/INT stop boot.sh, whose own trap stops QEMU, swtpm
# and the forwarders.
#
# Usage: join.sh --work DIR --sim-port P --sim-ctl C [options] [-- BOOT.SH ARGS]
#   --upn UPN         user who approves (default alice@contoso.example)
#   --decline         decline the code instead (the user said no)
#   --no-approve      do neither (the code expires or the boot times out)
#   every boot.sh option (--kernel --initrd --serial --tpm-state --disk
#   --timeout --console --tpm-if ...) after "--".
# Writes WORK/join.env (user_code=, approved=yes|declined|no|failed, approve_error=,
# boot_rc=) besides boot.sh's files; boot.sh's WORK/timings gets
# mark_code_s (QEMU start -> code on the console) and mark_result_s (-> the
# join result line on the console).
# Exit: boot.sh's exit status (the guest command's, i.e. `linkjoin run`'s).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work= port= ctl= upn=alice@contoso.example action=approve
die() { echo "join: $*" >&2; exit 125; }
while [ $# -gt 0 ]; do
    case $1 in
    --work) work=$2; shift 2 ;;
    --sim-port) port=$2; shift 2 ;;
    --sim-ctl) ctl=$2; shift 2 ;;
    --upn) upn=$2; shift 2 ;;
    --decline) action=decline; shift ;;
    --no-approve) action=none; shift ;;
    --) shift; break ;;
    *) die "unknown option $1 (see the comment at the top of $0)" ;;
    esac
done
[ -n "$work" ] && [[ $port =~ ^[0-9]+$ ]] && [[ $ctl =~ ^[0-9]+$ ]] ||
    die "--work, --sim-port and --sim-ctl are required"
mkdir -p "$work" || die "cannot create $work"
log=$work/serial.log
: >"$log"

# The tty UI's prompt line (agent/ui/ui_proto.c lj_ui_render_tty) and its
# result lines.
code_re='enter the code [A-Za-z0-9-]+'
result_re='Done: this device is joined|This device is already joined|Setup could not finish|^Cancelled'
"$here/boot.sh" --work "$work" --fwd "10.0.2.100:443=$port" \
    --mark "code=$code_re" --mark "result=$result_re" "$@" &
bpid=$!
trap 'kill -TERM $bpid 2>/dev/null; wait $bpid; exit 125' INT TERM HUP

code= approved=no aerr=
while kill -0 "$bpid" 2>/dev/null; do
    if [ -z "$code" ]; then
        code=$(tr -d '\r' <"$log" | grep -aoE -- "$code_re" | awk 'NR == 1 {print $4}')
        if [ -n "$code" ] && [ $action != none ]; then
            body=$(printf '{"user_code":"%s","upn":"%s"}' "$code" "$upn")
            [ $action = decline ] && body=$(printf '{"user_code":"%s"}' "$code")
            if out=$(curl -sS --max-time 10 -X POST -H 'Content-Type: application/json' \
                --data-binary "$body" -w '\n%{http_code}' \
                "http://127.0.0.1:$ctl/control/devicecode/$action" 2>&1) &&
                [ "${out##*$'\n'}" -lt 400 ] 2>/dev/null; then
                approved=yes
                [ $action = decline ] && approved=declined
            else
                approved=failed
                aerr=$(tr '\n' ' ' <<<"$out" | head -c 300)
                echo "join: approving $code failed: $aerr" >&2
            fi
        fi
    fi
    sleep 0.1
done
wait "$bpid"
rc=$?
trap - INT TERM HUP
{
    echo "user_code=$code"
    echo "approved=$approved"
    echo "approve_error=$aerr"
    echo "boot_rc=$rc"
} >"$work/join.env"
exit $rc
