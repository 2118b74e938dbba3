#!/bin/sh
# Default /etc/sim/cmd.sh of the simulated Link device: what a real device's
# first boot runs.  /init gives it the serial port as its terminal, the state
# disk mounted at $LJ_STATE_DIR and the lj.* kernel parameters as LJ_* vars;
# its exit status is reported as "LJSIM: cmd-exit rc=N".
#
# Until the agent's `run` command lands this only says what it would run.
conf=/etc/linkjoin/linkjoin.conf
if [ -x /usr/bin/linkjoin ] && /usr/bin/linkjoin run --help >/dev/null 2>&1; then
    /usr/bin/linkjoin run --ui tty --config "$conf"
    rc=$?
    /usr/bin/linkjoin status --config "$conf"
    exit $rc
fi
echo "cmd-default: linkjoin has no 'run' command yet; nothing to do"
exit 0
