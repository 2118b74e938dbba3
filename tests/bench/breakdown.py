#!/usr/bin/env python3
"""breakdown.py — where the time between "sign-in finished" and "joined" /
"enrolled" goes, from the info-level logs of `linkjoin run --signin password`
(one log file per run).

  breakdown.py LOG...

Each step is the time from the previous mark to the next, taken from the
log lines' own millisecond timestamps (platform/log.c), so a step is at
best 1 ms exact; the table shows the median, min and max over the runs.
The marks, in the order agent/flow.c passes them:
  credentials   the UI's credentials line arrived (mod=ui event=message)
  token         token answer (new TLS connection to the login host + the
                simulator issuing the tokens)
  discovery     DRS discovery answer (new TLS connection to the DRS host)
  keys          keys_await done (pregenerated: nothing to wait for)
  journal       journal saved as keys_ready (fsync of file + directory)
  csr           the CSR signed in the TPM (ECC parent CreatePrimary, Load,
                RSA Sign, flushes)
  journal       transport-key blob + journal saved as join_sent
  join          the DRS join answer (the simulator issuing the certificate)
  store         answer checked, device cert + journal saved as joined
  marker        the systemd marker file `joined` (end: JOINED)
  mdm token     Intune access token (refresh grant, same login connection)
  mdm csr       the MDM CSR signed in the TPM
  mdm soap      discovery + policy + enrollment SOAP (new TLS connection to
                the enrollment host)
  mdm store     MDM certificate checked and saved, journal mdm_enrolled
                (end: ENROLLED)
Prints one line a step, then the totals.  Bounded: at most 64 log files,
lines over 8 KiB are cut.
"""
import datetime
import re
import statistics
import sys

MARKS = [
    ("credentials", "mod=ui event=message"),
    ("token", "event=signed_in "),
    ("discovery", "event=discovered domain="),
    ("keys", "event=keys_ready "),
    ("journal keys_ready", "event=saved state=keys_ready"),
    ("csr", "event=csr_signed "),
    ("journal join_sent", "event=saved state=join_sent"),
    ("join", "event=join_answer "),
    ("store", "event=saved state=joined"),
    ("marker", "event=joined device_id="),
    ("mdm token", "event=mdm_token "),
    ("mdm csr", "event=csr_signed "),
    ("mdm soap", "mod=mdm event=enrolled "),
    ("mdm store", "event=mdm_enrolled "),
]
TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z linkjoin")


def marks_of(path):
    """The time (ms) of each mark in one log, in order; None when missing."""
    t = [None] * len(MARKS)
    i = 0
    with open(path, errors="replace") as f:
        for line in f:
            line = line[:8192]
            m = TS.match(line)
            if m is None or i >= len(MARKS):
                continue
            if MARKS[i][1] in line:
                ts = datetime.datetime.fromisoformat(m.group(1))
                t[i] = ts.timestamp() * 1000.0
                i += 1
    return t


def row(name, v):
    if not v:
        return "  %-22s %s" % (name, "-")
    return "  %-22s median %5.0f ms  (min %4.0f, max %4.0f, n=%d)" % (
        name, statistics.median(v), min(v), max(v), len(v))


def main():
    runs = [marks_of(p) for p in sys.argv[1:65]]
    steps = {name: [] for name, _ in MARKS[1:]}
    joined, enrolled = [], []
    for t in runs:
        for i in range(1, len(MARKS)):
            if t[i] is not None and t[i - 1] is not None:
                steps[MARKS[i][0]].append(t[i] - t[i - 1])
        if t[0] is not None and t[9] is not None:
            joined.append(t[9] - t[0])
        if t[0] is not None and t[13] is not None:
            enrolled.append(t[13] - t[0])
    for name, _ in MARKS[1:]:
        print(row(name, steps[name]))
        if name == "marker":
            print(row("= credentials->joined", joined))
    print(row("= credentials->enrolled", enrolled))
    return 0


if __name__ == "__main__":
    sys.exit(main())
