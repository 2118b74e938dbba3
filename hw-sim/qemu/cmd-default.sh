#!/bin/sh
# Default /etc/sim/cmd.sh of the simulated Link device: what a real device's
# first boot runs.  /init gives it the serial port as its terminal, the state
# disk mounted at $LJ_STATE_DIR and the lj.* kernel parameters as LJ_* vars;
# its exit status (run's) is reported as "LJSIM: cmd-exit rc=N".
#
# Console lines for the host besides the agent's own tty UI text:
#   LJSIM: run-exit rc=N              `linkjoin run`'s exit status
#   LJSIM: status-json {...}          `linkjoin status --json` (one line)
#   LJSIM: status-exit rc=N
conf=/etc/linkjoin/linkjoin.conf
/usr/bin/linkjoin run --ui tty --config "$conf"
rc=$?
echo "LJSIM: run-exit rc=$rc"
/usr/bin/linkjoin status --config "$conf"
echo "LJSIM: status-json $(/usr/bin/linkjoin status --json --config "$conf" 2>&1 | tr -d '\n')"
echo "LJSIM: status-exit rc=$(/usr/bin/linkjoin status --config "$conf" >/dev/null 2>&1; echo $?)"
exit $rc
